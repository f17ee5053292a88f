import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (libs/esp/test → ../../..). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Where the real-ESP-IDF tests keep the installed kit, the ccache and their builds (gitignored, shared by every
 * run, so the second run reuses what the first compiled). AEGIS_TEST_IDF_DIR moves it.
 */
export const TEST_IDF_DIR = process.env.AEGIS_TEST_IDF_DIR ?? path.join(REPO, '.test-store', 'kit-templates');

/** The offline kit (the directory with install.sh): AEGIS_IDF_KIT, else ../shared/esp-idf-kit beside the repo. */
export function findKitSource(): string {
  const candidates = [
    process.env.AEGIS_IDF_KIT,
    path.join(REPO, '..', 'shared', 'esp-idf-kit'),
    '/work/shared/esp-idf-kit',
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(path.join(p, 'install.sh')));
  if (!found)
    throw new Error(
      `The ESP-IDF v5.1.6 kit is missing (looked for install.sh in ${candidates.join(', ')}). ` +
        'These tests build real firmware: set AEGIS_IDF_KIT to the kit directory (the one with install.sh and ' +
        'esp-idf-v5.1.6.tar.zst) or place it at ../shared/esp-idf-kit.',
    );
  return found;
}

/**
 * Install the kit into TEST_IDF_DIR/kit once. install.sh is idempotent (about 1 s when nothing changed); the
 * flock makes parallel test files wait for one installer instead of unpacking over each other.
 */
export function ensureKit(): string {
  const source = findKitSource();
  const dest = path.join(TEST_IDF_DIR, 'kit');
  mkdirSync(TEST_IDF_DIR, { recursive: true });
  const r = spawnSync('flock', [path.join(TEST_IDF_DIR, 'kit.lock'), path.join(source, 'install.sh'), dest], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0)
    throw new Error(
      `Installing the ESP-IDF kit from ${source} into ${dest} failed (${r.error?.message ?? `exit ${r.status}`}): ` +
        `${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`,
    );
  return dest;
}

export interface KitRun {
  code: number | null;
  stdout: string;
  stderr: string;
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
