import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Binary stdin/stdout for a sandboxed command (the workspace helper), next to the line-streaming `run`. */
export interface BinaryIo {
  /** Bytes for the command's stdin (a buffer or a stream); nothing = empty stdin. */
  stdin?: Uint8Array | Readable;
  /** Where stdout goes; without it stdout is collected (up to `maxStdoutBytes`) into the result. */
  stdout?: Writable;
  /** Collected stdout above this many bytes fails the run (default 64 MiB). */
  maxStdoutBytes?: number;
  signal?: AbortSignal;
}

export interface BinaryResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Collected stdout (empty when `io.stdout` was given). */
  stdout: Buffer;
  /** The first 4 KiB of stderr. */
  stderr: string;
  /** True when collected stdout went past `maxStdoutBytes` (the command was killed). */
  overflow: boolean;
}

export interface SpawnBinaryOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  timeoutSecs: number;
}

const STDERR_CAP = 4096;

/**
 * Runs a command in its own process group with binary stdin/stdout and kills the whole group on timeout, abort or
 * stdout overflow. Resolves when the process has exited and stdout is drained; never rejects for the command's
 * own failure (a broken stdin pipe from a command that stopped reading is not an error either).
 */
export function spawnBinary(opts: SpawnBinaryOptions, io: BinaryIo): Promise<BinaryResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let overflow = false;
    const child = spawn(opts.file, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const max = io.maxStdoutBytes ?? 64 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let collected = 0;
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < STDERR_CAP) stderr += c.toString('utf8').slice(0, STDERR_CAP - stderr.length);
    });
    const stdoutDone: Promise<unknown> = io.stdout
      ? pipeline(child.stdout, io.stdout).catch(() => killGroup())
      : new Promise<void>((done) => {
          child.stdout.on('data', (c: Buffer) => {
            if (overflow) return;
            collected += c.length;
            if (collected > max) {
              overflow = true;
              killGroup();
              return;
            }
            chunks.push(c);
          });
          child.stdout.on('close', () => done());
          child.stdout.on('error', () => done());
        });
    child.stdin.on('error', () => undefined);
    if (io.stdin === undefined) child.stdin.end();
    else if (io.stdin instanceof Uint8Array) child.stdin.end(io.stdin);
    else {
      const src = io.stdin;
      src.on('error', () => killGroup());
      src.pipe(child.stdin);
    }

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutSecs * 1000);
    const onAbort = (): void => killGroup();
    if (io.signal?.aborted) onAbort();
    else io.signal?.addEventListener('abort', onAbort, { once: true });

    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', onAbort);
      killGroup();
      void stdoutDone.then(() => {
        if (spawnError) stderr = `could not start ${opts.file}: ${spawnError.message}`;
        resolve({ exitCode: code, signal, timedOut, stdout: Buffer.concat(chunks), stderr, overflow });
      });
    });
  });
}
