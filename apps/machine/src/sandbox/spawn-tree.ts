import { spawn } from 'node:child_process';
import { LineSplitter } from './line-splitter.js';
import type { RunIo, RunResult } from './types.js';

export interface SpawnTreeOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  timeoutSecs: number;
}

/**
 * Runs a command in its own process group, streams its output line by line, and kills the whole group on
 * timeout or cancel. Resolves when the process has exited and its pipes are drained; never rejects for the
 * command's own failure.
 */
export function spawnTree(opts: SpawnTreeOptions, io: RunIo): Promise<RunResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let canceled = false;
    const child = spawn(opts.file, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const out = new LineSplitter((t) => io.onLine('stdout', t));
    const err = new LineSplitter((t) => io.onLine('stderr', t));
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutSecs * 1000);
    const onAbort = (): void => {
      canceled = true;
      killGroup();
    };
    if (io.signal?.aborted) onAbort();
    else io.signal?.addEventListener('abort', onAbort, { once: true });

    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', onAbort);
      // The leader is gone; make sure nothing it left behind in the group survives it.
      killGroup();
      out.flush();
      err.flush();
      if (spawnError) io.onLine('system', `could not start ${opts.file}: ${spawnError.message}`);
      resolve({ exitCode: code, signal, timedOut, canceled });
    });
  });
}
