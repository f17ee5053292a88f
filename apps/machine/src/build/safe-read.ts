import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads a file the sandboxed build produced, refusing anything that resolves outside `dir` (a build could leave a
 * symlink to a host file, hoping the machine copies it into the bundle with its own rights).
 */
export function readInside(dir: string, rel: string, maxBytes = 64 * 1024 * 1024): Uint8Array | undefined {
  try {
    const root = realpathSync(dir);
    const real = realpathSync(path.resolve(dir, rel));
    if (!real.startsWith(root + path.sep)) return undefined;
    const st = statSync(real);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    return new Uint8Array(readFileSync(real));
  } catch {
    return undefined;
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
