/**
 * Watches what an ESP32 prints on its UART (a real board or the emulator) and says when to stop and why: the text
 * the caller waits for appeared, the firmware panicked (with the addresses to decode), or it keeps rebooting.
 * Pure and incremental: bytes go in as they arrive, in chunks of any size (a line or a UTF-8 character may be split
 * between chunks). Time limits and the emulator ending are the caller's business; `end()` finishes a panic report
 * that was cut short.
 */

export type SerialStopReason = 'pattern' | 'panic' | 'reboot_loop';

export interface SerialPanic {
  /** What the panic handler named: "StoreProhibited", "Store access fault", "abort()", "stack overflow"… */
  kind: string;
  /** The line that began the panic report. */
  headline: string;
  /** xtensa: `Backtrace:` pairs; riscv: `MEPC`/`RA` register dump and stack words; unknown: nothing to go on. */
  arch: 'xtensa' | 'riscv' | 'unknown';
  /** The faulting PC (xtensa `PC`, riscv `MEPC`, or the PC `abort()` names). */
  pc?: string;
  /**
   * Code addresses to decode, most relevant first, each once: the PC, then the xtensa backtrace's PCs, or riscv `RA`
   * and the words of the stack dump that point into code (candidate return addresses: esp32c3 has no frame
   * pointers, so the stack is scanned as ESP-IDF's own monitor does before gdb unwinds it).
   */
  addresses: string[];
  /** The report's lines (ANSI colours removed), at most MAX_PANIC_LINES. */
  lines: string[];
  /** False when the output ended before the report did (its last part is missing). */
  complete: boolean;
}

export interface SerialVerdict {
  reason: SerialStopReason;
  /** The `until` text that was seen (reason `pattern`). */
  pattern?: string;
  panic?: SerialPanic;
  /** Restarts seen so far (boot banners after the first). */
  reboots: number;
}

export interface SerialWatchOptions {
  /** Stop when any of these texts appears (ANSI colours removed; may span lines with `\n`). */
  until?: string | string[];
  /** Stop after this many restarts without the pattern (default 3; 0 = never). */
  maxReboots?: number;
  /** Stop at a panic (default true). */
  stopOnPanic?: boolean;
}

export const DEFAULT_MAX_REBOOTS = 3;
const MAX_PANIC_LINES = 200;
const MAX_ADDRESSES = 64;
/** A line longer than this is cut (a firmware printing without newlines must not grow memory). */
const MAX_LINE = 4096;

// CSI sequences (colours, cursor moves) and lone ESC-x pairs.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;
/** The ROM's reset line, printed at every boot by both chips ("rst:0xc (SW_CPU_RESET),boot:0x12 …"). */
const BOOT_LINE = /^rst:0x[0-9a-f]+ \(/i;
const GURU = /Guru Meditation Error: Core\s+\d+ panic'ed \(([^)]*)\)/;
const ABORT = /abort\(\) was called at PC (0x[0-9a-f]+)/i;
const STACK_OVERFLOW = /\*\*\*ERROR\*\*\* A stack overflow in task (.*) has been detected/;
/** Lines after which nothing more belongs to the panic report. */
const PANIC_END = /^(Rebooting\.\.\.|CPU halted\.)/;
const HEX = /0x[0-9a-f]{8}/gi;

/** Code regions an address must fall in to be worth decoding: flash-mapped code and IRAM of each chip. */
function isCodeAddress(a: number, arch: SerialPanic['arch']): boolean {
  if (arch === 'riscv') return (a >= 0x42000000 && a < 0x42800000) || (a >= 0x40380000 && a < 0x403e0000);
  return (a >= 0x400d0000 && a < 0x40400000) || (a >= 0x40080000 && a < 0x400a0000);
}

const hex8 = (s: string): string => '0x' + s.slice(2).toLowerCase().padStart(8, '0');

export class SerialWatcher {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly patterns: string[];
  private readonly maxReboots: number;
  private readonly stopOnPanic: boolean;
  /** Text of the current, unfinished line. */
  private partial = '';
  /** The last lines (ANSI removed), enough to find a pattern spanning lines. */
  private window = '';
  private readonly windowSize: number;
  private boots = 0;
  private panic?: { kind: string; headline: string; pc?: string; lines: string[]; inStack: boolean };
  private result?: SerialVerdict;

  constructor(opts: SerialWatchOptions = {}) {
    const until = opts.until === undefined ? [] : Array.isArray(opts.until) ? opts.until : [opts.until];
    this.patterns = until.filter((p) => p.length > 0);
    this.maxReboots = opts.maxReboots ?? DEFAULT_MAX_REBOOTS;
    this.stopOnPanic = opts.stopOnPanic ?? true;
    this.windowSize = Math.max(256, ...this.patterns.map((p) => p.length * 2));
  }

  /** The verdict once there is one; it never changes after. */
  get verdict(): SerialVerdict | undefined {
    return this.result;
  }

  /** Restarts seen so far. */
  get reboots(): number {
    return Math.max(0, this.boots - 1);
  }

  /** Feed UART output; returns the verdict as soon as there is one (and the same one for every later call). */
  push(chunk: Uint8Array | string): SerialVerdict | undefined {
    if (this.result) return this.result;
    this.partial += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    let nl: number;
    while (!this.result && (nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.line(line);
    }
    if (this.partial.length > MAX_LINE) {
      const line = this.partial.slice(0, MAX_LINE);
      this.partial = this.partial.slice(MAX_LINE);
      if (!this.result) this.line(line);
    }
    // A prompt without a newline ("Type something> ") can be what the caller waits for.
    if (!this.result && this.patterns.length && !this.panic) this.matchPattern(this.window + strip(this.partial));
    return this.result;
  }

  /** The output ended (time limit, emulator exit): a panic report that began counts, even if cut short. */
  end(): SerialVerdict | undefined {
    if (this.result) return this.result;
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest) this.line(rest);
    if (!this.result && this.panic) this.finishPanic(false);
    return this.result;
  }

  private line(raw: string): void {
    const line = strip(raw).replace(/\r+$/, '');
    if (this.panic) return this.panicLine(line);
    this.window = (this.window + line + '\n').slice(-this.windowSize);
    if (this.patterns.length && this.matchPattern(this.window)) return;
    if (BOOT_LINE.test(line)) {
      this.boots++;
      if (this.maxReboots > 0 && this.reboots >= this.maxReboots) {
        this.result = { reason: 'reboot_loop', reboots: this.reboots };
      }
      return;
    }
    if (!this.stopOnPanic) return;
    const guru = GURU.exec(line);
    const abort = ABORT.exec(line);
    const overflow = STACK_OVERFLOW.exec(line);
    if (guru) this.panic = { kind: guru[1], headline: line, lines: [line], inStack: false };
    else if (abort) this.panic = { kind: 'abort()', headline: line, pc: hex8(abort[1]), lines: [line], inStack: false };
    else if (overflow)
      this.panic = { kind: `stack overflow in task ${overflow[1]}`, headline: line, lines: [line], inStack: false };
  }

  private matchPattern(text: string): boolean {
    const hit = this.patterns.find((p) => text.includes(p));
    if (hit === undefined) return false;
    this.result = { reason: 'pattern', pattern: hit, reboots: this.reboots };
    return true;
  }

  private panicLine(line: string): void {
    const p = this.panic!;
    // The next boot began: the report ended without its usual last line.
    if (BOOT_LINE.test(line)) return this.finishPanic(true);
    if (p.lines.length < MAX_PANIC_LINES) p.lines.push(line);
    if (PANIC_END.test(line.trim()) || p.lines.length >= MAX_PANIC_LINES) this.finishPanic(true);
  }

  private finishPanic(complete: boolean): void {
    const p = this.panic!;
    const found = panicAddresses(p.lines);
    const pc = found.pc ?? p.pc;
    const addresses = [...new Set([...(pc ? [pc] : []), ...found.addresses])].slice(0, MAX_ADDRESSES);
    this.panic = undefined;
    this.result = {
      reason: 'panic',
      reboots: this.reboots,
      panic: { kind: p.kind, headline: p.headline, arch: found.arch, pc, addresses, lines: p.lines, complete },
    };
  }
}

/** The addresses of a panic report (see SerialPanic.addresses). */
export function panicAddresses(lines: string[]): { arch: SerialPanic['arch']; pc?: string; addresses: string[] } {
  let arch: SerialPanic['arch'] = 'unknown';
  let pc: string | undefined;
  const backtrace: string[] = [];
  const regs: string[] = [];
  const stack: string[] = [];
  let inStack = false;
  for (const line of lines) {
    const mepc = /\bMEPC\s*:\s*(0x[0-9a-f]+)/i.exec(line);
    const ra = /\bRA\s*:\s*(0x[0-9a-f]+)/i.exec(line);
    const xpc = /^PC\s*:\s*(0x[0-9a-f]+)/i.exec(line.trim());
    if (mepc) {
      arch = 'riscv';
      pc = hex8(mepc[1]);
    }
    if (ra) regs.push(hex8(ra[1]));
    if (xpc && arch !== 'riscv') {
      arch = 'xtensa';
      pc = hex8(xpc[1]);
    }
    const bt = /^Backtrace:\s*(.*)$/.exec(line.trim());
    if (bt) {
      arch = arch === 'unknown' ? 'xtensa' : arch;
      // "0x400d5a2b:0x3ffb4f30 0x400d5a41:0x3ffb4f50 |<-CORRUPTED": the PC of each PC:SP pair.
      for (const m of bt[1].matchAll(/(0x[0-9a-f]+):0x[0-9a-f]+/gi)) backtrace.push(hex8(m[1]));
    }
    if (/^Stack memory:/.test(line.trim())) inStack = true;
    else if (inStack) {
      const words = /^[0-9a-f]{8}:\s*(.*)$/i.exec(line.trim());
      if (!words) inStack = false;
      else stack.push(...(words[1].match(HEX) ?? []).map(hex8));
    }
  }
  const code = (a: string) => isCodeAddress(parseInt(a, 16), arch);
  const addresses = arch === 'xtensa' ? backtrace : [...regs.filter(code), ...stack.filter(code)];
  return { arch, pc, addresses: [...new Set(addresses)] };
}

/** Text without ANSI escape sequences (ESP-IDF colours its log lines). */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

const strip = stripAnsi;
