import { lchown, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Gives a directory tree to `uid` so the sandbox user can write its workspace (symlinks are not followed). */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await lchown(root, uid, gid);
  const entries = await readdir(root, { withFileTypes: true });
  for (const e of entries) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await lchown(p, uid, gid);
  }
}
