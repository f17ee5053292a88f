import { PtyServerMessage, describeZodError, type PtyClientMessage } from '@aegis/protocol';
import type { ChannelLike } from './channel.js';
import { LimitedSender, type Limits } from './limited-sender.js';

export interface PtyExit {
  code: number | null;
  signal?: string | null;
}

const utf8 = new TextEncoder();

/** A terminal on the `pty` channel (browser-safe): raw bytes both ways, JSON control frames (`open`, `resize`, `exit`). */
export class PtyClient {
  readonly sender: LimitedSender;
  private readonly dataListeners = new Set<(data: Uint8Array) => void>();
  private readonly exitListeners = new Set<(exit: PtyExit) => void>();
  private readonly errorListeners = new Set<(message: string) => void>();
  private readonly offMessage: () => void;

  constructor(
    readonly channel: ChannelLike,
    limits: Limits = {},
  ) {
    this.sender = new LimitedSender(channel, limits);
    this.offMessage = channel.onMessage((d) => {
      if (typeof d !== 'string') {
        for (const cb of this.dataListeners) cb(d);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(d);
      } catch {
        return;
      }
      const r = PtyServerMessage.safeParse(value);
      if (!r.success) {
        const message = `The machine sent a terminal frame this client does not understand: ${describeZodError(r.error)}`;
        for (const cb of this.errorListeners) cb(message);
        return;
      }
      if (r.data.type === 'exit') for (const cb of this.exitListeners) cb({ code: r.data.code, signal: r.data.signal });
      else for (const cb of this.errorListeners) cb(r.data.message);
    });
  }

  open(opts: { cols: number; rows: number; command?: 'shell' | 'menuconfig' }): Promise<void> {
    const msg: PtyClientMessage = { type: 'open', cols: opts.cols, rows: opts.rows, command: opts.command ?? 'shell' };
    return this.sender.sendJson(msg);
  }

  resize(cols: number, rows: number): Promise<void> {
    return this.sender.sendJson({ type: 'resize', cols, rows } satisfies PtyClientMessage);
  }

  /** Keystrokes/bytes to the terminal. */
  write(data: string | Uint8Array): Promise<void> {
    return this.sender.send(typeof data === 'string' ? utf8.encode(data) : data);
  }

  /** Stops listening to the channel (the view went away; the channel stays with its connection). */
  dispose(): void {
    this.offMessage();
  }

  onData(cb: (data: Uint8Array) => void): () => void {
    this.dataListeners.add(cb);
    return () => this.dataListeners.delete(cb);
  }
  onExit(cb: (exit: PtyExit) => void): () => void {
    this.exitListeners.add(cb);
    return () => this.exitListeners.delete(cb);
  }
  onError(cb: (message: string) => void): () => void {
    this.errorListeners.add(cb);
    return () => this.errorListeners.delete(cb);
  }
}
