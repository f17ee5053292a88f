import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';

export interface SpawnServiceOptions<T> {
  /** For error messages: `API`, `machine`. */
  name: string;
  /** What readiness means, for the timeout message: `start`, `register`. */
  readyVerb: string;
  /** Node entry script and its arguments. */
  entry: string;
  args?: string[];
  /** Added to a minimal environment (PATH, HOME): nothing else of the test runner's leaks in. */
  env: Record<string, string>;
  /** The value readiness carries (a URL, an id) from a log line, or undefined while not ready. */
  readyOn: (line: string) => T | undefined;
  /** Milliseconds to wait for readiness (default 30 s). */
  timeoutMs?: number;
}

export interface SpawnedService<T> {
  process: ChildProcess;
  ready: T;
  /** Every stdout/stderr line so far (for assertions, e.g. that no secret is logged). */
  output: string[];
  /** SIGTERM, SIGKILL after 5 s, resolved once it exited. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawn a built Node service as a child process and wait until a log line says it is ready. */
export async function spawnService<T>(opts: SpawnServiceOptions<T>): Promise<SpawnedService<T>> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...opts.env };
  const child = spawn(process.execPath, [opts.entry, ...(opts.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} did not ${opts.readyVerb} within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      output.push(line);
      const value = opts.readyOn(line);
      if (value === undefined) return;
      clearTimeout(timer);
      resolve(value);
    };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(
        new Error(`${opts.name} exited (${code ?? sig}) before it could ${opts.readyVerb}:\n${output.join('\n')}`),
      );
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    process: child,
    ready,
    output,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The value of `field` in a JSON log line that contains `marker`, else undefined. */
export function jsonLogField(line: string, marker: string, field: string): string | undefined {
  if (!line.includes(marker)) return undefined;
  try {
    const value = (JSON.parse(line) as Record<string, unknown>)[field];
    return typeof value === 'string' && value ? value : undefined;
  } catch {
    return undefined; // not a JSON line
  }
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
