import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './next-server';

/** The test toolchain store (scripts/make-test-store.mjs): real C compiled for esp32c3, not ESP-IDF. */
export function makeTestStore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-store-'));
  const r = spawnSync(process.execPath, [`${REPO}scripts/make-test-store.mjs`, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-test-store failed:\n${r.stdout}\n${r.stderr}`);
  return dir;
}
