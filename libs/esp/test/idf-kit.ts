import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureIdfStore, testStoreDir } from '../../../scripts/idf-store.mjs';

/** The repository root (libs/esp/test → ../../..). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Where the real-ESP-IDF template tests keep their ccache and builds (gitignored, shared by every
 * run, so the second run reuses what the first compiled). AEGIS_TEST_IDF_DIR moves it.
 */
export const TEST_IDF_DIR = process.env.AEGIS_TEST_IDF_DIR ?? path.join(REPO, '.test-store', 'kit-templates');

/**
 * The kit as installed in the test store (the one every build test shares): `npm test` provisions it once and
 * passes AEGIS_TEST_STORE; a test file run on its own provisions it here (serialised with flock, about a second
 * when up to date). A missing kit throws with what to set (AEGIS_IDF_KIT), never a skip.
 */
export function ensureKit(): string {
  const store = process.env.AEGIS_TEST_STORE ?? ensureIdfStore(testStoreDir(), { quiet: true });
  const dir = path.join(store, 'idf', '5.1.6');
  if (!existsSync(path.join(dir, 'export.sh')))
    throw new Error(`The test store ${store} has no ESP-IDF 5.1.6 kit install at ${dir}; delete it and run again.`);
  return dir;
}

/**
 * The environment of the kit's export.sh (IDF_PATH, PATH with the toolchains and idf.py), with ccache on: every
 * build of the same ESP-IDF component for the same target compiles once. CCACHE_BASEDIR + NOHASHDIR make the
 * cache ignore where a project lives (the builds sit in different directories).
 */
export function kitEnv(kit: string): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? TEST_IDF_DIR,
    LANG: 'C.UTF-8',
    IDF_CCACHE_ENABLE: '1',
    CCACHE_DIR: path.join(TEST_IDF_DIR, 'ccache'),
    CCACHE_BASEDIR: path.join(TEST_IDF_DIR, 'builds'),
    CCACHE_NOHASHDIR: '1',
    CCACHE_MAXSIZE: '2G',
  };
  const r = spawnSync('bash', ['-c', `. "${kit}/export.sh" >/dev/null && env -0`], { env: base, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`Sourcing ${kit}/export.sh failed: ${r.stderr.trim()}`);
  return Object.fromEntries(
    r.stdout
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

export interface KitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a shell command in the kit's environment (see kitEnv). */
export function runInKit(kit: string, cwd: string, command: string, timeoutMs = 600_000): Promise<KitRun> {
  const env = kitEnv(kit);
  return new Promise((resolve, reject) => {
    // Sourced again here: a shell start-up hook of the host (pyenv) may put its own python before the kit's.
    const child = spawn('bash', ['-c', `. "${kit}/export.sh" >/dev/null && ${command}`], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
