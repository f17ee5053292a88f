import {
  EmulatorServerMessage,
  MAX_FRAME_BYTES,
  describeZodError,
  type EmulatedChip,
  type EmulatorClientMessage,
  type EmulatorExitReason,
} from '@aegis/protocol';
import type { ChannelLike } from './channel.js';
import { LimitedSender, type Limits } from './limited-sender.js';

// Browser-safe (web-platform globals only): the dashboard's emulated board runs on this client.

export interface EmulatorReady {
  chip: EmulatedChip;
  flash_bytes: number;
  seconds: number;
}

export interface EmulatorExit {
  reason: EmulatorExitReason;
  code: number | null;
  detail?: string;
}

/** A refusal from the machine (`no_firmware`, `chip_not_emulated`, `emulator_busy`, …) or a lost channel. */
export class EmulatorError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorError';
  }
}

const utf8 = new TextEncoder();

/** Why a run ended, in words for a person (the caller adds the final stop). */
export function exitText(e: EmulatorExit): string {
  const code = e.code === null ? '' : ` (code ${e.code})`;
  const base =
    e.reason === 'stopped'
      ? 'stopped'
      : e.reason === 'time_limit'
        ? 'the time limit was reached'
        : e.reason === 'job_ended'
          ? 'the build job ended on the machine'
          : `QEMU exited${code}`;
  // The machine's detail is a sentence of its own.
  return e.detail ? `${base} — ${e.detail.replace(/\.$/, '')}` : base;
}

/**
 * The job's firmware running in QEMU on the build machine, over the `emulator` channel: UART bytes both ways as
 * binary frames, JSON text frames for start/reset/stop and the machine's ready/exit/error.
 */
export class EmulatorClient {
  readonly sender: LimitedSender;
  private readonly outputListeners = new Set<(bytes: Uint8Array) => void>();
  private readonly readyListeners = new Set<(r: EmulatorReady) => void>();
  private readonly exitListeners = new Set<(e: EmulatorExit) => void>();
  private readonly errorListeners = new Set<(e: EmulatorError) => void>();
  private readonly closeListeners = new Set<() => void>();
  /** A run was started and has not sent `exit` yet. */
  private running = false;
  private lastExit?: EmulatorExit;
  private closed = false;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    readonly channel: ChannelLike,
    limits: Limits = {},
  ) {
    this.sender = new LimitedSender(channel, limits);
    const offClose = channel.onClose(() => {
      this.closed = true;
      this.running = false;
      for (const cb of [...this.closeListeners]) cb();
    });
    const offMessage = channel.onMessage((d) => {
      if (typeof d !== 'string') {
        for (const cb of this.outputListeners) cb(d);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(d);
      } catch {
        return;
      }
      const r = EmulatorServerMessage.safeParse(value);
      if (!r.success) {
        const err = new EmulatorError(
          'bad_frame',
          `The machine sent an emulator frame this client does not understand: ${describeZodError(r.error)}`,
        );
        for (const cb of [...this.errorListeners]) cb(err);
        return;
      }
      const m = r.data;
      if (m.type === 'ready') {
        const ready: EmulatorReady = { chip: m.chip, flash_bytes: m.flash_bytes, seconds: m.seconds };
        for (const cb of [...this.readyListeners]) cb(ready);
      } else if (m.type === 'exit') {
        const exit: EmulatorExit = { reason: m.reason, code: m.code };
        if (m.detail !== undefined) exit.detail = m.detail;
        this.running = false;
        this.lastExit = exit;
        for (const cb of [...this.exitListeners]) cb(exit);
      } else {
        const err = new EmulatorError(m.code, m.message);
        for (const cb of [...this.errorListeners]) cb(err);
      }
    });
    this.unsubscribe.push(offClose, offMessage);
  }

  /** Stops listening to the channel (the channel stays with its connection). */
  dispose(): void {
    for (const off of this.unsubscribe) off();
  }

  /**
   * Sends start (+ the image bytes in frames ≤ MAX_FRAME_BYTES when `image` is given); resolves on the first
   * `ready`, rejects with EmulatorError on an `error` or `exit` before it.
   */
  start(opts: { image?: Uint8Array; seconds?: number } = {}): Promise<EmulatorReady> {
    if (this.closed) return Promise.reject(closedError());
    const { image } = opts;
    const msg: EmulatorClientMessage = image
      ? { type: 'start', image: 'client', image_bytes: image.byteLength }
      : { type: 'start', image: 'job' };
    if (opts.seconds !== undefined) msg.seconds = opts.seconds;
    this.running = true;
    const sends: Promise<void>[] = [this.sender.sendJson(msg)];
    if (image)
      for (let at = 0; at < image.byteLength; at += MAX_FRAME_BYTES)
        sends.push(this.sender.send(image.subarray(at, Math.min(at + MAX_FRAME_BYTES, image.byteLength))));
    return this.nextReady(Promise.all(sends));
  }

  /** Bytes for the emulated UART (what a person types). */
  write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? utf8.encode(data) : data;
    const sends: Promise<void>[] = [];
    for (let at = 0; at < bytes.byteLength; at += MAX_FRAME_BYTES)
      sends.push(this.sender.send(bytes.subarray(at, Math.min(at + MAX_FRAME_BYTES, bytes.byteLength))));
    return Promise.all(sends).then(() => undefined);
  }

  /** Reboots the board on the same flash; resolves at the machine's next `ready`. */
  reset(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    return this.nextReady(this.sender.sendJson({ type: 'reset' } satisfies EmulatorClientMessage)).then(
      () => undefined,
    );
  }

  /**
   * The first `ready` after `sent`'s frames; rejects with EmulatorError on an `error` or `exit` before it, when
   * the channel closes, or when the frames could not be sent.
   */
  private nextReady(sent: Promise<unknown>): Promise<EmulatorReady> {
    return new Promise<EmulatorReady>((resolve, reject) => {
      const offs: Array<() => void> = [];
      const done = (err?: EmulatorError, ready?: EmulatorReady) => {
        for (const off of offs) off();
        if (err) reject(err);
        else resolve(ready!);
      };
      offs.push(
        this.onReady((r) => done(undefined, r)),
        this.onError((e) => done(e)),
        this.onExit((e) =>
          done(new EmulatorError(`exit_${e.reason}`, `The emulator ended before it was ready (${exitText(e)}).`)),
        ),
        this.onClose(() => done(closedError())),
      );
      sent.catch((err: Error) =>
        done(err instanceof EmulatorError ? err : new EmulatorError('send_failed', err.message)),
      );
    });
  }

  /** Sends stop; resolves with the exit frame (or immediately if already exited). */
  stop(): Promise<EmulatorExit> {
    if (!this.running || this.closed)
      return Promise.resolve(
        this.lastExit ?? { reason: 'stopped', code: null, detail: 'The emulator was not running.' },
      );
    const exit = this.exited();
    return this.sender.sendJson({ type: 'stop' } satisfies EmulatorClientMessage).then(() => exit);
  }

  onOutput(cb: (bytes: Uint8Array) => void): () => void {
    this.outputListeners.add(cb);
    return () => this.outputListeners.delete(cb);
  }
  /** Also after each reset. */
  onReady(cb: (r: EmulatorReady) => void): () => void {
    this.readyListeners.add(cb);
    return () => this.readyListeners.delete(cb);
  }
  onExit(cb: (e: EmulatorExit) => void): () => void {
    this.exitListeners.add(cb);
    return () => this.exitListeners.delete(cb);
  }
  onError(cb: (e: EmulatorError) => void): () => void {
    this.errorListeners.add(cb);
    return () => this.errorListeners.delete(cb);
  }

  /** Resolves with the next exit frame; rejects when the channel closes first. */
  exited(): Promise<EmulatorExit> {
    return new Promise((resolve, reject) => {
      const offExit = this.onExit((e) => {
        offExit();
        offClose();
        resolve(e);
      });
      const offClose = this.onClose(() => {
        offExit();
        offClose();
        reject(closedError());
      });
    });
  }

  private onClose(cb: () => void): () => void {
    if (this.closed) {
      queueMicrotask(cb);
      return () => undefined;
    }
    this.closeListeners.add(cb);
    return () => this.closeListeners.delete(cb);
  }
}

function closedError(): EmulatorError {
  return new EmulatorError('channel_closed', 'The emulator channel closed; reconnect to run the firmware again.');
}
