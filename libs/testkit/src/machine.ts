import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testCompilerCacheEnv } from './idf-store.js';
import { jsonLogField, spawnService } from './spawn-service.js';

/** The built agent entry point (`npx tsc -b apps/machine/tsconfig.build.json` first). Override with AEGIS_MACHINE_MAIN_JS. */
export const MACHINE_MAIN =
  process.env.AEGIS_MACHINE_MAIN_JS ?? fileURLToPath(new URL('../../../apps/machine/dist/main.js', import.meta.url));

export interface StartMachineOptions {
  apiUrl: string;
  /** Machine token (`aegis_m_…`, from createMachineToken). */
  token: string;
  /** The API's public JWKS file (startApi's `jwksPath`): the only keys this machine trusts. */
  jwksPath: string;
  storeRoot?: string;
  sandbox?: 'bwrap' | 'none';
  /** Job workspaces; default a new temp dir, removed by stop(). */
  workDir?: string;
  env?: Record<string, string>;
  /** Extra CLI flags. */
  args?: string[];
  /** Another entry script (e.g. a test fixture that runs the agent with a fake backend). */
  entry?: string;
  /** Milliseconds to wait for registration with the API (default 30 s). */
  timeoutMs?: number;
}

export interface StartedMachine {
  process: ChildProcess;
  workDir: string;
  /** Every log line so far (for assertions, e.g. that no secret is logged). */
  output: string[];
  /** The machine id the API gave at registration. */
  machineId: string;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Spawns the build-machine agent against an API, WebRTC bound to 127.0.0.1, and waits until it registered.
 * Outbound only: the agent never listens on a port.
 */
export async function startMachine(opts: StartMachineOptions): Promise<StartedMachine> {
  const ownDir = !opts.workDir;
  const workDir = opts.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-machine-'));
  const service = await spawnService({
    name: 'machine',
    readyVerb: 'register',
    entry: opts.entry ?? MACHINE_MAIN,
    args: opts.args,
    env: {
      CONTROL_BASE_URL: opts.apiUrl,
      AEGIS_MACHINE_TOKEN: opts.token,
      AEGIS_TRUSTED_JWKS: opts.jwksPath,
      AEGIS_WORK_DIR: workDir,
      AEGIS_SANDBOX: opts.sandbox ?? 'none',
      AEGIS_RTC_INTERFACE: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...testCompilerCacheEnv(),
      ...(opts.storeRoot ? { ESPCTL_STORE_ROOT: opts.storeRoot } : {}),
      ...opts.env,
    },
    readyOn: (line) => jsonLogField(line, 'registered with the control API', 'machineId'),
    timeoutMs: opts.timeoutMs,
  });
  return {
    process: service.process,
    workDir,
    output: service.output,
    machineId: service.ready,
    kill: service.kill,
    stop: async () => {
      await service.stop();
      if (ownDir) {
        // A machine still serving a client when it is stopped is killed before its drain unmounts the job
        // workspaces (a real one sweeps them at its next start); a test's directory goes now, mounts first.
        unmountUnder(workDir);
        fs.rmSync(workDir, { recursive: true, force: true });
      }
    },
  };
}

/** Lazily unmounts every mount at or below `dir` (deepest first), as left by a machine that was killed. */
function unmountUnder(dir: string): void {
  const root = path.resolve(dir);
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === root || m.startsWith(root + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}
