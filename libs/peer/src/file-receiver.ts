import { FirmwareServerMessage, describeZodError, type ErrorBody } from '@aegis/protocol';
import { concatBytes, sha256Hex } from './bytes.js';

// Browser-safe (web-platform globals only): the client half of the `firmware` channel (file-transfer.ts has the
// machine's half).

export class FileTransferError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileTransferError';
  }
}

export interface ReceivedFile {
  name: string;
  size: number;
  sha256: string;
  data: Uint8Array;
}

/**
 * Receiving state for one file. Feed it every frame; `done` resolves with the verified file. `received()` gives
 * the bytes so far, to resume from after a drop.
 */
export class FileReceiver {
  private chunks: Uint8Array[];
  private bytes: number;
  private header?: { size: number; sha256: string };
  private resolveDone!: (f: ReceivedFile) => void;
  private rejectDone!: (e: Error) => void;
  readonly done: Promise<ReceivedFile>;

  constructor(
    readonly name: string,
    prefix: Uint8Array = new Uint8Array(0),
    private readonly onProgress?: (received: number, total: number) => void,
  ) {
    this.chunks = prefix.byteLength ? [prefix] : [];
    this.bytes = prefix.byteLength;
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => undefined);
  }

  get offset(): number {
    return this.bytes;
  }

  received(): Uint8Array {
    return concatBytes(this.chunks);
  }

  fail(err: Error): void {
    this.rejectDone(err);
  }

  handleFrame(frame: string | Uint8Array): void {
    if (typeof frame !== 'string') return this.handleChunk(frame);
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch {
      return this.fail(new FileTransferError('protocol_error', 'The machine sent a control frame that is not JSON.'));
    }
    const r = FirmwareServerMessage.safeParse(value);
    if (!r.success)
      return this.fail(
        new FileTransferError(
          'protocol_error',
          `The machine sent a firmware frame this client does not understand: ${describeZodError(r.error)}`,
        ),
      );
    const msg = r.data;
    if (msg.type === 'error') return this.fail(errorFrom(msg.error));
    if (msg.type === 'header') {
      if (msg.offset !== this.bytes)
        return this.fail(
          new FileTransferError('protocol_error', `The machine resumed at ${msg.offset}, not at ${this.bytes}.`),
        );
      this.header = { size: msg.size, sha256: msg.sha256 };
      return;
    }
    // end
    const header = this.header;
    if (!header) return this.fail(new FileTransferError('protocol_error', 'End of file came before its header.'));
    if (this.bytes !== header.size || msg.size !== header.size)
      return this.fail(
        new FileTransferError('size_mismatch', `Got ${this.bytes} of ${header.size} bytes of ${this.name}.`),
      );
    const data = this.received();
    sha256Hex(data).then(
      (sha256) => {
        if (sha256 !== header.sha256)
          this.fail(
            new FileTransferError(
              'sha256_mismatch',
              `${this.name} arrived corrupted (sha256 differs); download it again.`,
            ),
          );
        else this.resolveDone({ name: this.name, size: data.byteLength, sha256, data });
      },
      (err: Error) => this.fail(new FileTransferError('hash_failed', `Cannot check ${this.name}: ${err.message}`)),
    );
  }

  private handleChunk(chunk: Uint8Array): void {
    if (!this.header) return this.fail(new FileTransferError('protocol_error', 'File bytes came before the header.'));
    if (this.bytes + chunk.byteLength > this.header.size)
      return this.fail(new FileTransferError('size_mismatch', `More bytes of ${this.name} arrived than announced.`));
    // Copy: the transport may reuse its buffer.
    this.chunks.push(chunk.slice());
    this.bytes += chunk.byteLength;
    this.onProgress?.(this.bytes, this.header.size);
  }
}

function errorFrom(e: ErrorBody): FileTransferError {
  return new FileTransferError(e.code, e.message);
}
