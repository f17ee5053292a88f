import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** shared/ sits beside the repository (in CI a copy does); on the development machines it is /work/shared. */
export const REAL_ESP = [
  fileURLToPath(new URL('../../../../shared/testdata/real-esp', import.meta.url)),
  '/work/shared/testdata/real-esp',
].find((p) => existsSync(p))!;
export const REAL_BUILDS = ['136446529__ESP32-BMP180', '203Null__esp32-microlight'] as const;

export function realFile(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(join(REAL_ESP, ...parts)));
}

export function realText(...parts: string[]): string {
  return readFileSync(join(REAL_ESP, ...parts), 'utf8');
}

/** A `files` resolver over a real build directory. */
export function buildDirFiles(build: string): (path: string) => Uint8Array | undefined {
  return (path) => {
    const full = join(REAL_ESP, build, 'build', path);
    return existsSync(full) ? new Uint8Array(readFileSync(full)) : undefined;
  };
}
