import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chownTree } from './chown-tree.js';

/** Directories of a job workspace the sandboxed build may write; everything else there stays the machine's. */
export const WRITABLE_DIRS = ['project', '.home'];

/**
 * Lets the sandbox uid write `<ws>/project` and `<ws>/.home` while the workspace root and anything else in it
 * (the artifacts) stay root-owned and read-only to the build.
 */
export async function prepareWorkspace(workspaceDir: string, uid: number): Promise<void> {
  await chown(workspaceDir, 0, 0);
  await chmod(workspaceDir, 0o755);
  for (const name of WRITABLE_DIRS) {
    const dir = path.join(workspaceDir, name);
    await mkdir(dir, { recursive: true });
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new Error(`${dir} must be a directory`);
    await chownTree(dir, uid, uid);
  }
}
