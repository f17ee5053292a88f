import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    CONTROL_BASE_URL: opts.apiUrl,
    AEGIS_MACHINE_TOKEN: opts.token,
    AEGIS_TRUSTED_JWKS: opts.jwksPath,
    AEGIS_WORK_DIR: workDir,
    AEGIS_SANDBOX: opts.sandbox ?? 'none',
    AEGIS_RTC_INTERFACE: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...(opts.storeRoot ? { ESPCTL_STORE_ROOT: opts.storeRoot } : {}),
    ...opts.env,
  };
  const child = spawn(process.execPath, [opts.entry ?? MACHINE_MAIN, ...(opts.args ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const machineId = await new Promise<string>((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`machine did not register within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      output.push(line);
      if (!line.includes('registered with the control API')) return;
      try {
        const id = (JSON.parse(line) as { machineId?: string }).machineId;
        if (id) {
          clearTimeout(timer);
          resolve(id);
        }
      } catch {
        /* not a JSON line */
      }
    };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`machine exited (${code ?? sig}) before registering:\n${output.join('\n')}`));
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    process: child,
    workDir,
    output,
    machineId,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (ownDir) fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}
