import { toErrorBody } from '../errors.js';
import { exitCodeFor, type ExitCode } from './exit-codes.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
}

/** Where the CLI writes: results to stdout (JSON with --json), progress and errors to stderr. */
export class Output {
  private bar?: { label: string; done: number; total: number };

  constructor(
    readonly opts: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {}

  /** The command's result: JSON with --json, else the human text (nothing with --quiet). */
  result(value: unknown, human: () => string): void {
    if (this.opts.json) this.stdout.write(JSON.stringify(value) + '\n');
    else if (!this.opts.quiet) {
      const text = human();
      if (text) this.stdout.write(text.endsWith('\n') ? text : text + '\n');
    }
  }

  /** A line of streamed output (build log, monitor). Printed even with --quiet; JSON lines with --json. */
  line(text: string, json?: unknown): void {
    if (this.opts.json) return void this.stdout.write(JSON.stringify(json ?? { text }) + '\n');
    // Keep a progress bar at the bottom: clear it, print the line, draw it again.
    if (this.bar) this.stderr.write('\r\x1b[K');
    this.stdout.write(text.endsWith('\n') ? text : text + '\n');
    if (this.bar) this.drawBar();
  }

  /** Bytes as they came (a serial console), to stdout; nothing with --json (use line there). */
  raw(bytes: Uint8Array): void {
    if (!this.opts.json) this.stdout.write(bytes);
  }

  info(text: string): void {
    if (!this.opts.quiet && !this.opts.json) this.stderr.write(text + '\n');
  }

  /** A progress bar on a terminal only; never with --json or --quiet. */
  progress(label: string, done: number, total: number): void {
    if (this.opts.json || this.opts.quiet || !this.stderr.isTTY) return;
    this.bar = { label, done, total };
    this.drawBar();
    if (total > 0 && done >= total) {
      this.stderr.write('\n');
      this.bar = undefined;
    }
  }

  private drawBar(): void {
    if (!this.bar) return;
    const { label, done, total } = this.bar;
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
    this.stderr.write(`\r${label} [${bar}] ${Math.round(frac * 100)}%`);
  }

  /** Print an error and return the exit code to use. */
  error(err: unknown): ExitCode {
    const body = toErrorBody(err);
    if (this.opts.json) this.stderr.write(JSON.stringify({ error: { code: body.code, message: body.message } }) + '\n');
    else this.stderr.write(`espctl: ${body.message} (${body.code})\n`);
    return exitCodeFor(body.code);
  }
}
