import type { DecodedFrame, LogLine } from '@aegis/protocol';
import { isTerminalJobState } from '@aegis/protocol';
import { stripAnsi } from '@aegis/esp';
import { EspctlError } from '../errors.js';
import type { RemoteConnector } from '../remote/remote-connector.js';
import { LogBuffer } from '../tasks/log-buffer.js';
import type { BuildTask, TaskRegistry } from '../tasks/task-registry.js';
import { runEmulator, type EmulatorRunOptions, type EmulatorRunResult } from './emulator-run.js';

/** Lines of emulator output kept per task for `emulator://{task_id}/output`. */
export const EMULATOR_LOG_MAX_LINES = 20_000;
const MAX_LINE_CHARS = 4096;

export interface EmulatorTaskResult extends EmulatorRunResult {
  task_id: string;
  job_id: string;
  /** The panic's addresses decoded with the build's ELF (the machine's `decode`). */
  frames?: DecodedFrame[];
}

interface Run {
  abort: AbortController;
  done: Promise<unknown>;
}

/** Splits UART bytes into log lines (ANSI colours removed); a line without its newline yet waits. */
class LineSplitter {
  private readonly decoder = new TextDecoder();
  private partial = '';
  private seq: number;

  constructor(private readonly log: LogBuffer) {
    this.seq = log.nextSeq;
  }

  push(bytes: Uint8Array): void {
    this.partial += this.decoder.decode(bytes, { stream: true });
    const parts = this.partial.split('\n');
    this.partial = parts.pop() ?? '';
    while (this.partial.length > MAX_LINE_CHARS) {
      parts.push(this.partial.slice(0, MAX_LINE_CHARS));
      this.partial = this.partial.slice(MAX_LINE_CHARS);
    }
    this.emit(parts);
  }

  flush(): void {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest) this.emit([rest]);
  }

  note(text: string): void {
    this.log.push({ seq: this.seq++, ts: Date.now(), stream: 'system', text });
  }

  private emit(parts: string[]): void {
    if (!parts.length) return;
    const ts = Date.now();
    const lines: LogLine[] = parts.map((p) => ({
      seq: this.seq++,
      ts,
      stream: 'stdout',
      text: stripAnsi(p).replace(/\r+$/, ''),
    }));
    this.log.pushAll(lines);
  }
}

/**
 * The emulator runs of one MCP session (or one CLI command), per build task: at most one at a time per task, its
 * output kept as a log (`emulator://{task_id}/output`), stoppable from another request (`emulator.stop`).
 */
export class EmulatorRuns {
  private readonly runs = new Map<string, Run>();
  private readonly logs = new Map<string, LogBuffer>();

  /** The output log of the task's emulator runs (created empty when asked for first). */
  output(taskId: string): LogBuffer {
    let log = this.logs.get(taskId);
    if (!log) this.logs.set(taskId, (log = new LogBuffer(EMULATOR_LOG_MAX_LINES)));
    return log;
  }

  hasOutput(taskId: string): boolean {
    return this.logs.has(taskId);
  }

  running(taskId: string): boolean {
    return this.runs.has(taskId);
  }

  /** Stop the task's running emulator; false when none runs. Resolves once that run has finished. */
  async stop(taskId: string): Promise<boolean> {
    const run = this.runs.get(taskId);
    if (!run) return false;
    run.abort.abort();
    await run.done.catch(() => undefined);
    return true;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.runs.keys()].map((id) => this.stop(id)));
  }

  /**
   * Run a finished build's firmware on the emulator of the machine that built it: a reattachment that opens the
   * espctl and emulator channels (the build's own session is closed once the build ends), the run, the panic's
   * addresses decoded with the build's ELF, then the session is closed (the machine stops QEMU with it).
   */
  async run(
    remote: RemoteConnector,
    task: BuildTask,
    opts: Omit<EmulatorRunOptions, 'signal'> & { signal?: AbortSignal },
  ): Promise<EmulatorTaskResult> {
    if (!isTerminalJobState(task.state)) {
      throw new EspctlError(
        'build_running',
        `The build of task ${task.id} is still ${task.state}; wait until it succeeded (build.status), then run the emulator.`,
      );
    }
    if (task.state !== 'succeeded' || !task.jobId) {
      throw new EspctlError(
        'build_not_succeeded',
        `The build of task ${task.id} ${task.state === 'failed' ? 'failed' : `is ${task.state}`}; only a successful build has firmware to run.`,
      );
    }
    if (this.runs.has(task.id)) {
      throw new EspctlError(
        'emulator_busy',
        `An emulator already runs task ${task.id}; wait for it or stop it with emulator.stop.`,
      );
    }
    const abort = new AbortController();
    const onOuterAbort = (): void => abort.abort();
    opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const work = this.runAttached(remote, task, task.jobId, { ...opts, signal: abort.signal });
    this.runs.set(task.id, { abort, done: work });
    try {
      return await work;
    } finally {
      this.runs.delete(task.id);
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private async runAttached(
    remote: RemoteConnector,
    task: BuildTask,
    jobId: string,
    opts: EmulatorRunOptions,
  ): Promise<EmulatorTaskResult> {
    // The build's session closes once the build ended; let it go first so the machine is free for the attachment.
    await task.settled;
    const session = await remote.attach(jobId, { emulator: true });
    const lines = new LineSplitter(this.output(task.id));
    try {
      if (!session.emulator) {
        throw new EspctlError(
          'emulator_unavailable',
          'The build machine did not open the emulator channel (it runs an Aegis without the emulated board); run the firmware on a board instead (flash.run).',
        );
      }
      const status = await session.call('build.status', {});
      if (status.emulator === false) {
        throw new EspctlError(
          'emulator_unavailable',
          `The build machine cannot emulate ${status.target ?? 'this target'} (QEMU runs esp32c3 and esp32 only); run the firmware on a board (flash.run).`,
        );
      }
      lines.note(
        `--- emulator run of job ${jobId} (${opts.seconds} s${opts.until ? `, until "${opts.until}"` : ''}) ---`,
      );
      const r = await runEmulator(session.emulator, {
        ...opts,
        onOutput: (b) => {
          lines.push(b);
          opts.onOutput?.(b);
        },
      });
      lines.flush();
      lines.note(`--- stopped: ${r.stopped_because} after ${r.seconds} s ---`);
      let frames: DecodedFrame[] | undefined;
      if (r.panic?.addresses.length) {
        const asked = lookupAddresses(r.panic.arch, r.panic.addresses);
        frames = await session
          .call('decode', { addresses: asked })
          .then((d) => d.frames.map((f, i) => ({ ...f, address: r.panic!.addresses[i] ?? f.address })))
          .catch(() => undefined);
      }
      return { task_id: task.id, job_id: jobId, ...r, ...(frames ? { frames } : {}) };
    } finally {
      lines.flush();
      await session.close().catch(() => undefined);
    }
  }
}

/**
 * The addresses to look up: on RISC-V every address after the faulting PC is a return address (RA, stack words),
 * which points past the call; one byte back lies inside the call instruction, so it decodes to the line of the call
 * (as gdb does). xtensa backtraces already hold call addresses (ESP-IDF subtracts 3).
 */
function lookupAddresses(arch: string, addresses: string[]): string[] {
  if (arch !== 'riscv') return addresses;
  return addresses.map((a, i) => (i === 0 ? a : '0x' + (parseInt(a, 16) - 1).toString(16).padStart(8, '0')));
}

const perSession = new WeakMap<TaskRegistry, EmulatorRuns>();

/** The emulator runs belonging to the session that owns `tasks` (stopped when it closes its tasks). */
export function emulatorRuns(tasks: TaskRegistry): EmulatorRuns {
  let runs = perSession.get(tasks);
  if (!runs) {
    const created = new EmulatorRuns();
    perSession.set(tasks, (runs = created));
    tasks.onClose(() => created.stopAll());
  }
  return runs;
}

/** `function (file:line)` lines of a decoded backtrace, for people. */
export function formatFrames(frames: DecodedFrame[]): string[] {
  return frames.map(
    (f) =>
      `  ${f.address}: ${f.function ?? '??'}${f.file ? ` at ${f.file}${f.line !== null ? `:${f.line}` : ''}` : ''}`,
  );
}
