import { SerialWatcher, stripAnsi, type SerialPanic } from '@aegis/esp';
import { EspctlError } from '../errors.js';
import type { EmulatorExitInfo, EmulatorPort } from '../remote/remote-connector.js';

export const EMULATOR_RUN_DEFAULT_SECONDS = 30;
export const EMULATOR_RUN_MAX_SECONDS = 600;
/** Characters of output a result carries (the end of it); the whole output goes to the caller's onOutput. */
export const EMULATOR_OUTPUT_TAIL_CHARS = 16 * 1024;

export type EmulatorStopReason = 'pattern' | 'panic' | 'reboot_loop' | 'time_limit' | 'exited' | 'stopped';

export interface EmulatorRunOptions {
  seconds: number;
  /** Stop as soon as this text appears. */
  until?: string;
  /** Typed into the UART once the app has started (its `Calling app_main()` line) or 3 s after boot. */
  input?: string;
  /** Restarts without the pattern before stopping with `reboot_loop` (default 3; 0 = never). */
  maxReboots?: number;
  /** Every byte the firmware prints, as it arrives. */
  onOutput?: (bytes: Uint8Array) => void;
  /** Aborting stops the emulator (`emulator.stop`, Ctrl-C): reason `stopped`. */
  signal?: AbortSignal;
  tailChars?: number;
}

export interface EmulatorRunResult {
  stopped_because: EmulatorStopReason;
  chip: string;
  /** The `until` text, when it was seen. */
  pattern?: string;
  panic?: SerialPanic;
  reboots: number;
  /** Seconds from boot to the stop. */
  seconds: number;
  /** The end of the output, ANSI colours removed. */
  output: string;
  output_bytes: number;
  output_truncated: boolean;
  /** How the emulator ended, as the machine reported it. */
  exit?: EmulatorExitInfo;
}

/** Beyond the machine's own time limit, how long to wait for its `exit` before stopping the emulator ourselves. */
const EXIT_GRACE_MS = 5000;
const STOP_WAIT_MS = 5000;
const INPUT_FALLBACK_MS = 3000;

/**
 * Boot the job's firmware on an emulator channel and watch its UART (SerialWatcher) until the pattern, a panic, a
 * reboot loop, the time limit, the emulator's own end or an abort. The emulator is always stopped before this
 * returns. A refusal by the machine (no successful build, chip not emulated, no free slot) throws an EspctlError.
 */
export async function runEmulator(port: EmulatorPort, o: EmulatorRunOptions): Promise<EmulatorRunResult> {
  if (o.signal?.aborted) throw new EspctlError('emulator_stopped', 'The emulator run was stopped before it began.');
  const watcher = new SerialWatcher({ until: o.until, maxReboots: o.maxReboots });
  const tailChars = o.tailChars ?? EMULATOR_OUTPUT_TAIL_CHARS;
  const decoder = new TextDecoder();
  let text = '';
  let truncated = false;
  let bytes = 0;
  let inputSent = o.input === undefined;
  const sendInput = (): void => {
    if (inputSent) return;
    inputSent = true;
    void port.write(o.input!).catch(() => undefined);
  };

  let settle!: (why: { verdict?: true; exit?: EmulatorExitInfo; timeout?: true; abort?: true }) => void;
  const stopped = new Promise<Parameters<typeof settle>[0]>((r) => (settle = r));
  const offs: (() => void)[] = [];
  offs.push(
    port.onOutput((chunk) => {
      bytes += chunk.length;
      o.onOutput?.(chunk);
      text += decoder.decode(chunk, { stream: true });
      if (text.length > tailChars * 2) {
        text = text.slice(-tailChars);
        truncated = true;
      }
      if (!inputSent && text.includes('Calling app_main()')) sendInput();
      if (watcher.push(chunk)) settle({ verdict: true });
    }),
    port.onExit((exit) => settle({ exit })),
  );
  const onAbort = (): void => settle({ abort: true });
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const timers: NodeJS.Timeout[] = [];
  try {
    let ready;
    try {
      ready = await port.start({ seconds: o.seconds });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new EspctlError(
        typeof code === 'string' ? `emulator_${code.replace(/^emulator_/, '')}` : 'emulator_error',
        `The machine did not start the emulator: ${(err as Error).message}`,
      );
    }
    const t0 = performance.now();
    timers.push(setTimeout(sendInput, INPUT_FALLBACK_MS));
    timers.push(setTimeout(() => settle({ timeout: true }), ready.seconds * 1000 + EXIT_GRACE_MS));
    const why = await stopped;
    const elapsed = (performance.now() - t0) / 1000;
    let exit = why.exit;
    if (!exit) exit = await stopPort(port);
    const verdict = watcher.verdict ?? watcher.end();
    text += decoder.decode();
    const stopped_because: EmulatorStopReason = verdict
      ? verdict.reason
      : why.abort
        ? 'stopped'
        : why.timeout || exit?.reason === 'time_limit'
          ? 'time_limit'
          : exit?.reason === 'stopped'
            ? 'stopped'
            : 'exited';
    if (text.length > tailChars) {
      text = text.slice(-tailChars);
      truncated = true;
    }
    return {
      stopped_because,
      chip: ready.chip,
      ...(verdict?.pattern !== undefined ? { pattern: verdict.pattern } : {}),
      ...(verdict?.panic ? { panic: verdict.panic } : {}),
      reboots: watcher.reboots,
      seconds: Math.round(elapsed * 10) / 10,
      output: stripAnsi(text).replace(/\r\n?/g, '\n'),
      output_bytes: bytes,
      output_truncated: truncated,
      ...(exit ? { exit } : {}),
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    o.signal?.removeEventListener('abort', onAbort);
    for (const off of offs) off();
  }
}

/** Stop the emulator, waiting a bounded time for its `exit` (a vanished channel must not hang the caller). */
async function stopPort(port: EmulatorPort): Promise<EmulatorExitInfo | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      port.stop().catch(() => undefined),
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), STOP_WAIT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
