import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export interface Machine {
  output: string[];
  stop(): Promise<void>;
}

/** Runs the built machine agent against the API with the loopback-only WebRTC binding. */
export function startMachine(o: { apiUrl: string; token: string; jwksPath: string; storeRoot: string; name: string }) {
  const work = mkdtempSync(join(tmpdir(), 'aegis-machine-'));
  const child = spawn(process.execPath, [`${REPO}apps/machine/dist/main.js`], {
    env: {
      ...process.env,
      CONTROL_BASE_URL: o.apiUrl,
      AEGIS_MACHINE_TOKEN: o.token,
      AEGIS_MACHINE_NAME: o.name,
      AEGIS_TRUSTED_JWKS: o.jwksPath,
      ESPCTL_STORE_ROOT: o.storeRoot,
      AEGIS_WORK_DIR: work,
      AEGIS_SANDBOX: 'none',
      AEGIS_RTC_INTERFACE: '127.0.0.1',
      ESPCTL_ALLOW_INSECURE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr.on('data', (b: Buffer) => output.push(b.toString()));
  return {
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(work, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
      }),
  } satisfies Machine;
}
