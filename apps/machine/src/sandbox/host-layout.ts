import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SANDBOX_UID, type BwrapLayout } from './bwrap-args.js';
import { helperScript } from '../workspace/helper-program.js';

const TOP_LEVEL = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const ETC_FILES = ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives', '/etc/localtime'];

/**
 * What of this host's system the sandbox sees: /usr and the top-level /bin, /lib… (as symlinks on merged-/usr
 * systems, as read-only binds otherwise) and a few /etc files the dynamic loader and compilers need.
 * A synthetic passwd/group (only root, the build user and nobody) is written to `stateDir`.
 */
export async function detectHostLayout(stateDir: string): Promise<BwrapLayout> {
  const systemDirs = ['/usr'];
  const symlinks: BwrapLayout['symlinks'] = [];
  for (const p of TOP_LEVEL) {
    if (!existsSync(p)) continue;
    const st = lstatSync(p);
    if (st.isSymbolicLink()) symlinks.push({ target: readlinkSync(p), path: p });
    else if (st.isDirectory()) systemDirs.push(p);
  }
  const etcFiles = ETC_FILES.filter((f) => existsSync(f));
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
  await chmod(stateDir, 0o755);
  const passwdFile = path.join(stateDir, 'passwd');
  const groupFile = path.join(stateDir, 'group');
  await writeFile(
    passwdFile,
    `root:x:0:0:root:/nonexistent:/bin/sh\nbuild:x:${SANDBOX_UID}:${SANDBOX_UID}:build:/ws/.home:/bin/sh\n` +
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    { mode: 0o644 },
  );
  await writeFile(groupFile, `root:x:0:\nbuild:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`, { mode: 0o644 });
  // The workspace helper runs as the sandbox user, so it lives next to passwd, readable by all, owned by us.
  const helperFile = path.join(stateDir, 'ws-helper.cjs');
  await writeFile(`${helperFile}.tmp-${process.pid}`, helperScript(), { mode: 0o644 });
  await rename(`${helperFile}.tmp-${process.pid}`, helperFile);
  return { systemDirs, symlinks, etcFiles, passwdFile, groupFile, helperFile };
}
