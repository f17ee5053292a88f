import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
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
 * Output bytes handled in one go before the pipes are paused for a turn of the event loop (setImmediate): libuv
 * may hand over many 64 KiB reads in a single callback, and timers such as the heartbeat must not wait behind them.
 */
export const YIELD_EVERY_BYTES = 256 * 1024;

/**
 * Runs a command in its own process group, streams its output line by line, and kills the whole group on
 * timeout or cancel. Resolves when the process has exited and its pipes are drained; never rejects for the
 * command's own failure.
 *
 * Backpressure: while `io.flow` is not ready, stdout and stderr are paused; the pipes fill and the command
 * blocks on write. Nothing is dropped here. Once the group is killed the pipes are drained regardless.
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
    const pipes: Readable[] = [child.stdout, child.stderr];
    const gate = new ReadGate(pipes, io.flow);
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      gate.consumed(c.length);
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      gate.consumed(c.length);
    });

    const stop = (): void => {
      killGroup();
      // A dead group writes nothing more: read what is left so 'close' can come.
      gate.open();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutSecs * 1000);
    const onAbort = (): void => {
      canceled = true;
      stop();
    };
    if (io.signal?.aborted) onAbort();
    else io.signal?.addEventListener('abort', onAbort, { once: true });

    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
      gate.open();
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

/**
 * Pauses the pipes while the consumer is behind, and for one event-loop turn after every YIELD_EVERY_BYTES.
 * `open()` ends all pausing for good (the process group is gone).
 */
class ReadGate {
  private paused = false;
  private opened = false;
  private sinceYield = 0;

  constructor(
    private readonly pipes: Readable[],
    private readonly flow: RunIo['flow'],
  ) {}

  consumed(bytes: number): void {
    this.sinceYield += bytes;
    if (this.paused || this.opened) return;
    const wait = this.flow?.whenReady();
    if (wait) {
      this.pause();
      void wait.then(
        () => this.resume(),
        () => this.resume(),
      );
    } else if (this.sinceYield >= YIELD_EVERY_BYTES) {
      this.pause();
      setImmediate(() => this.resume());
    }
  }

  open(): void {
    this.opened = true;
    this.resume();
  }

  private pause(): void {
    this.paused = true;
    for (const p of this.pipes) p.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sinceYield = 0;
    for (const p of this.pipes) p.resume();
    // Still behind (e.g. woken by a timer): pause again right away rather than read one more chunk.
    if (!this.opened) this.consumed(0);
  }
}
