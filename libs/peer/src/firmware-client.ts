import type { ChannelLike } from './channel.js';
import { FileReceiver, FileTransferError, type ReceivedFile } from './file-receiver.js';
import { LimitedSender, type Limits } from './limited-sender.js';

// Browser-safe: the dashboard downloads artifacts with this client too.

/** Thrown when the channel drops mid-file; `partial` holds the bytes so far, to resume with. */
export class TransferInterruptedError extends FileTransferError {
  constructor(
    readonly fileName: string,
    readonly partial: Uint8Array,
  ) {
    super('transfer_interrupted', `The download of ${fileName} stopped at ${partial.byteLength} bytes; resume it.`);
  }
}

export interface FetchOptions {
  /** The bytes of an earlier, interrupted try: only the rest is asked for. */
  resumeFrom?: Uint8Array;
  onProgress?: (received: number, total: number) => void;
}

/**
 * Receives files over the `firmware` channel, sha256-checked, resumable. The machine serves one request after
 * another, so calls made while a download runs wait their turn (queued, never refused).
 */
export class FirmwareClient {
  readonly sender: LimitedSender;
  private current?: FileReceiver;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    readonly channel: ChannelLike,
    limits: Limits = {},
  ) {
    this.sender = new LimitedSender(channel, limits);
    this.unsubscribe = [
      channel.onMessage((d) => this.current?.handleFrame(d)),
      channel.onClose(() => {
        const c = this.current;
        if (c) c.fail(new TransferInterruptedError(c.name, c.received()));
      }),
    ];
  }

  /** Downloads `name` after any download already under way. */
  fetch(name: string, opts: FetchOptions = {}): Promise<ReceivedFile> {
    const run = this.queue.then(() => this.fetchNow(name, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops listening to the channel (the channel itself stays open). */
  dispose(): void {
    for (const off of this.unsubscribe) off();
  }

  private async fetchNow(name: string, opts: FetchOptions): Promise<ReceivedFile> {
    if (this.channel.readyState !== 'open')
      throw new TransferInterruptedError(name, opts.resumeFrom ?? new Uint8Array(0));
    const rx = new FileReceiver(name, opts.resumeFrom, opts.onProgress);
    this.current = rx;
    try {
      await this.sender.sendJson({ type: 'get', name, offset: rx.offset });
      return await rx.done;
    } finally {
      this.current = undefined;
    }
  }
}
