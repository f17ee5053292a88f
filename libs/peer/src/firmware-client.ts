import type { MessageChannelLike } from './channel.js';
import { FileReceiver, FileTransferError, type ReceivedFile } from './file-transfer.js';
import { LimitedSender, type Limits } from './limited-sender.js';

/** Thrown when the channel drops mid-file; `partial` holds the bytes so far, to resume with. */
export class TransferInterruptedError extends FileTransferError {
  constructor(
    readonly fileName: string,
    readonly partial: Buffer,
  ) {
    super('transfer_interrupted', `The download of ${fileName} stopped at ${partial.length} bytes; resume it.`);
  }
}

/** Receives files over the `firmware` channel, one at a time, sha256-checked, resumable. */
export class FirmwareClient {
  readonly sender: LimitedSender;
  private current?: FileReceiver;

  constructor(
    readonly channel: MessageChannelLike,
    limits: Limits = {},
  ) {
    this.sender = new LimitedSender(channel, limits);
    channel.onMessage((d) => this.current?.handleFrame(d));
    channel.onClose(() => {
      const c = this.current;
      if (c) c.fail(new TransferInterruptedError(c.name, c.received()));
    });
  }

  /** Downloads `name`; with `resumeFrom` (the bytes of an earlier, interrupted try) asks only for the rest. */
  async fetch(
    name: string,
    opts: { resumeFrom?: Buffer; onProgress?: (received: number, total: number) => void } = {},
  ): Promise<ReceivedFile> {
    if (this.current) throw new FileTransferError('busy', 'One download at a time per firmware channel.');
    if (this.channel.readyState !== 'open')
      throw new TransferInterruptedError(name, opts.resumeFrom ?? Buffer.alloc(0));
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
