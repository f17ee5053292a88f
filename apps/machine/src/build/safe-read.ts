import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads a file the sandboxed build produced, refusing anything that is not inside `dir` (a build could leave a
 * symlink to a host file, hoping the machine copies it into the bundle with its own rights). The check is made on
 * the opened descriptor (/proc/self/fd), so swapping a path component after the check does not help.
 */
export function readInside(dir: string, rel: string, maxBytes = 64 * 1024 * 1024): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    const root = realpathSync(dir);
    fd = openSync(path.resolve(dir, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const opened = readlinkSync(`/proc/self/fd/${fd}`);
    if (!opened.startsWith(root + path.sep)) return undefined;
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const out = new Uint8Array(st.size);
    let off = 0;
    while (off < out.length) {
      const n = readSync(fd, out, off, out.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === out.length ? out : out.subarray(0, off);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * True when `dir` is a real directory (not a symlink) that resolves inside `root`. A build directory that is a link
 * could point the machine at another job's files or the cache, and the machine reads it with its own rights.
 */
export function isRealDirInside(dir: string, root: string): boolean {
  try {
    if (!lstatSync(dir).isDirectory()) return false;
    const realRoot = realpathSync(root);
    return realpathSync(dir).startsWith(realRoot + path.sep);
  } catch {
    return false;
  }
}
