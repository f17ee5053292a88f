import {
  EmulatorServerMessage,
  type EmulatedChip,
  type EmulatorClientMessage,
  type EmulatorExitReason,
} from '@aegis/protocol';
import { drain, sendChunked } from './channel-io';

export interface EmulatorReady {
  chip: EmulatedChip;
  flash_bytes: number;
  /** The time limit in force (ours, lowered by the machine's cap). */
  seconds: number;
}

export interface EmulatorExit {
  reason: EmulatorExitReason;
  code: number | null;
  detail?: string;
}

/** A refused request (`error` frame), or the run ending / the channel closing before the answer came. */
export class EmulatorError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorError';
  }
}

/** Image bytes per frame: well inside the 64 KiB SCTP message limit browsers and werift share. */
const IMAGE_CHUNK = 60 * 1024;

type Waiter<T> = { resolve: (v: T) => void; reject: (e: EmulatorError) => void };

/**
 * The `emulator` channel from the browser (libs/protocol emulator-channel.ts): the build machine boots the job's
 * firmware in QEMU; UART bytes arrive as binary frames, typed bytes go back the same way, JSON text frames carry
 * start/reset/stop and the machine's ready/exit/error. Same API as libs/peer's EmulatorClient, on the browser's
 * RTCDataChannel (libs/peer's works on Node Buffers).
 */
export class EmulatorClient {
  private readonly output = new Set<(b: Uint8Array) => void>();
  private readonly ready = new Set<(r: EmulatorReady) => void>();
  private readonly exit = new Set<(e: EmulatorExit) => void>();
  private readonly errors = new Set<(e: EmulatorError) => void>();
  /** Who waits for the next `ready` (start, reset) and for the next `exit` (stop). */
  private readyWaiters: Waiter<EmulatorReady>[] = [];
  private exitWaiters: Waiter<EmulatorExit>[] = [];
  private running = false;
  private lastExit: EmulatorExit | null = null;
  private readonly onMessage: (e: MessageEvent) => void;
  private readonly onClose: () => void;

  constructor(private readonly dc: RTCDataChannel) {
    dc.binaryType = 'arraybuffer';
    this.onMessage = (e) => {
      if (typeof e.data !== 'string') {
        const bytes = e.data instanceof ArrayBuffer ? new Uint8Array(e.data) : new Uint8Array(e.data as ArrayBuffer);
        for (const cb of this.output) cb(bytes);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(e.data);
      } catch {
        return;
      }
      const m = EmulatorServerMessage.safeParse(value);
      if (m.success) this.handle(m.data);
    };
    this.onClose = () => {
      this.running = false;
      const err = new EmulatorError('channel_closed', 'The emulator channel closed; reopen the build to run again.');
      this.failWaiters(err);
    };
    dc.addEventListener('message', this.onMessage);
    dc.addEventListener('close', this.onClose);
  }

  private handle(m: EmulatorServerMessage) {
    if (m.type === 'ready') {
      const r: EmulatorReady = { chip: m.chip, flash_bytes: m.flash_bytes, seconds: m.seconds };
      this.running = true;
      const w = this.readyWaiters;
      this.readyWaiters = [];
      for (const x of w) x.resolve(r);
      for (const cb of this.ready) cb(r);
    } else if (m.type === 'exit') {
      const x: EmulatorExit = { reason: m.reason, code: m.code, ...(m.detail ? { detail: m.detail } : {}) };
      this.running = false;
      this.lastExit = x;
      const w = this.exitWaiters;
      this.exitWaiters = [];
      for (const e of w) e.resolve(x);
      // A start or reset still waiting will never see `ready` now.
      const r = this.readyWaiters;
      this.readyWaiters = [];
      for (const e of r)
        e.reject(new EmulatorError(`exit_${x.reason}`, `The emulator ended before it was ready (${exitText(x)}).`));
      for (const cb of this.exit) cb(x);
    } else {
      const err = new EmulatorError(m.code, m.message);
      // A refusal answers whatever was asked last: a start or reset waiting for `ready` fails with it.
      const r = this.readyWaiters;
      this.readyWaiters = [];
      for (const e of r) e.reject(err);
      for (const cb of this.errors) cb(err);
    }
  }

  private failWaiters(err: EmulatorError) {
    const all = [...this.readyWaiters, ...this.exitWaiters];
    this.readyWaiters = [];
    this.exitWaiters = [];
    for (const w of all) w.reject(err);
  }

  private async control(m: EmulatorClientMessage) {
    if (this.dc.readyState !== 'open')
      throw new EmulatorError('channel_closed', 'The emulator channel is not open; reopen the build to run again.');
    await drain(this.dc);
    this.dc.send(JSON.stringify(m));
  }

  /** The next `ready`, and a way to stop waiting for it (the request never went out). */
  private nextReady(): { promise: Promise<EmulatorReady>; cancel: () => void } {
    let waiter!: Waiter<EmulatorReady>;
    const promise = new Promise<EmulatorReady>((resolve, reject) => {
      waiter = { resolve, reject };
      this.readyWaiters.push(waiter);
    });
    return { promise, cancel: () => (this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter)) };
  }

  /** Boots the job's image (or `image`, a merged flash image from offset 0); resolves once the machine is ready. */
  async start(opts: { image?: Uint8Array; seconds?: number } = {}): Promise<EmulatorReady> {
    const ready = this.nextReady();
    try {
      const seconds = opts.seconds !== undefined ? { seconds: opts.seconds } : {};
      if (opts.image) {
        await this.control({ type: 'start', image: 'client', image_bytes: opts.image.length, ...seconds });
        await sendChunked(this.dc, opts.image, IMAGE_CHUNK);
      } else await this.control({ type: 'start', image: 'job', ...seconds });
    } catch (e) {
      ready.cancel();
      throw e instanceof EmulatorError ? e : new EmulatorError('send_failed', (e as Error).message);
    }
    return ready.promise;
  }

  /** UART input for the firmware. */
  async write(data: string | Uint8Array): Promise<void> {
    if (this.dc.readyState !== 'open') return;
    await drain(this.dc);
    this.dc.send((typeof data === 'string' ? new TextEncoder().encode(data) : data) as Uint8Array<ArrayBuffer>);
  }

  /** Reboots the image on the same flash; resolves at the machine's next `ready`. */
  async reset(): Promise<void> {
    const ready = this.nextReady();
    try {
      await this.control({ type: 'reset' });
    } catch (e) {
      ready.cancel();
      throw e;
    }
    await ready.promise;
  }

  /** Ends the run; resolves with the machine's `exit` (at once with the last one when nothing runs). */
  async stop(): Promise<EmulatorExit> {
    if (!this.running) return this.lastExit ?? { reason: 'stopped', code: null };
    let waiter!: Waiter<EmulatorExit>;
    const exit = new Promise<EmulatorExit>((resolve, reject) => {
      waiter = { resolve, reject };
      this.exitWaiters.push(waiter);
    });
    try {
      await this.control({ type: 'stop' });
    } catch (e) {
      this.exitWaiters = this.exitWaiters.filter((w) => w !== waiter);
      throw e;
    }
    return exit;
  }

  onOutput(cb: (bytes: Uint8Array) => void): () => void {
    this.output.add(cb);
    return () => this.output.delete(cb);
  }
  onReady(cb: (r: EmulatorReady) => void): () => void {
    this.ready.add(cb);
    return () => this.ready.delete(cb);
  }
  onExit(cb: (e: EmulatorExit) => void): () => void {
    this.exit.add(cb);
    return () => this.exit.delete(cb);
  }
  onError(cb: (e: EmulatorError) => void): () => void {
    this.errors.add(cb);
    return () => this.errors.delete(cb);
  }

  /** Stops listening (the channel stays with its link). */
  dispose() {
    this.dc.removeEventListener('message', this.onMessage);
    this.dc.removeEventListener('close', this.onClose);
  }
}

/** Why a run ended, in words for the page. */
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
  // The machine's detail is a sentence of its own; the caller adds the final stop.
  return e.detail ? `${base} — ${e.detail.replace(/\.$/, '')}` : base;
}
