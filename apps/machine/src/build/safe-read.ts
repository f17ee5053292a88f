import { readFileSync, realpathSync, statSync } from 'node:fs';
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
