import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { FirmwareServerMessage, MAX_FRAME_BYTES, type ErrorBody } from '@aegis/protocol';
import type { LimitedSender } from './limited-sender.js';

/**
 * The `firmware` channel protocol, both ends. Machine → client: JSON `header {name,size,sha256,offset}`,
 * binary chunks in order from `offset`, JSON `end {name,size}`. The client may ask again with `offset` > 0
 * after a drop and keeps the bytes it already has.
 */
export const FILE_CHUNK_BYTES = MAX_FRAME_BYTES;

export interface FileSource {
  name: string;
  size: number;
  sha256: string;
  read(offset: number, length: number): Promise<Buffer>;
  close?(): Promise<void>;
}

export function fileSourceFromBuffer(name: string, data: Buffer): FileSource {
  return {
    name,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    read: async (offset, length) => data.subarray(offset, offset + length),
  };
}

/** Hashes the file once, then reads it chunk by chunk. `sha256` may be given when already known. */
export async function fileSourceFromPath(name: string, path: string, sha256?: string): Promise<FileSource> {
  const size = (await stat(path)).size;
  const fh = await open(path, 'r');
  let hash = sha256;
  if (!hash) {
    const h = createHash('sha256');
    for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) h.update(chunk as Buffer);
    hash = h.digest('hex');
  }
  return {
    name,
    size,
    sha256: hash,
    async read(offset, length) {
      const buf = Buffer.alloc(Math.min(length, size - offset));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      return buf.subarray(0, bytesRead);
    },
    close: () => fh.close(),
  };
}

export class FileTransferError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileTransferError';
  }
}

/** Sends `src` from `offset`; stops early (without an end frame) when `signal` aborts. */
export async function sendFile(
  sender: LimitedSender,
  src: FileSource,
  offset = 0,
  opts: { chunkBytes?: number; signal?: AbortSignal } = {},
): Promise<void> {
  if (offset > src.size)
    throw new FileTransferError('bad_offset', `Offset ${offset} is past the end of ${src.name} (${src.size} bytes).`);
  const chunk = Math.min(opts.chunkBytes ?? FILE_CHUNK_BYTES, FILE_CHUNK_BYTES);
  await sender.sendJson({ type: 'header', name: src.name, size: src.size, sha256: src.sha256, offset });
  // Read one chunk ahead so disk and channel overlap.
  let pos = offset;
  let next = pos < src.size ? src.read(pos, chunk) : undefined;
  while (next) {
    const data = await next;
    if (data.length === 0) throw new FileTransferError('file_changed', `${src.name} got shorter while it was sent.`);
    pos += data.length;
    next = pos < src.size ? src.read(pos, chunk) : undefined;
    if (opts.signal?.aborted) return;
    await sender.send(data);
  }
  await sender.sendJson({ type: 'end', name: src.name, size: src.size });
}

export interface ReceivedFile {
  name: string;
  size: number;
  sha256: string;
  data: Buffer;
}

/**
 * Receiving state for one file. Feed it every frame; `done` resolves with the verified file. `received()` gives
 * the bytes so far, to resume from after a drop.
 */
export class FileReceiver {
  private chunks: Buffer[];
  private bytes: number;
  private header?: { size: number; sha256: string };
  private resolveDone!: (f: ReceivedFile) => void;
  private rejectDone!: (e: Error) => void;
  readonly done: Promise<ReceivedFile>;

  constructor(
    readonly name: string,
    prefix: Buffer = Buffer.alloc(0),
    private readonly onProgress?: (received: number, total: number) => void,
  ) {
    this.chunks = prefix.length ? [prefix] : [];
    this.bytes = prefix.length;
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => undefined);
  }

  get offset(): number {
    return this.bytes;
  }

  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  fail(err: Error): void {
    this.rejectDone(err);
  }

  handleFrame(frame: string | Buffer): void {
    if (typeof frame !== 'string') return this.handleChunk(frame);
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch {
      return this.fail(new FileTransferError('protocol_error', 'The machine sent a control frame that is not JSON.'));
    }
    const r = FirmwareServerMessage.safeParse(value);
    if (!r.success) return this.fail(new FileTransferError('protocol_error', 'The machine sent an unknown frame.'));
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
    if (!this.header) return this.fail(new FileTransferError('protocol_error', 'End of file came before its header.'));
    if (this.bytes !== this.header.size || msg.size !== this.header.size)
      return this.fail(
        new FileTransferError('size_mismatch', `Got ${this.bytes} of ${this.header.size} bytes of ${this.name}.`),
      );
    const data = this.received();
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== this.header.sha256)
      return this.fail(
        new FileTransferError('sha256_mismatch', `${this.name} arrived corrupted (sha256 differs); download it again.`),
      );
    this.resolveDone({ name: this.name, size: data.length, sha256, data });
  }

  private handleChunk(chunk: Buffer): void {
    if (!this.header) return this.fail(new FileTransferError('protocol_error', 'File bytes came before the header.'));
    if (this.bytes + chunk.length > this.header.size)
      return this.fail(new FileTransferError('size_mismatch', `More bytes of ${this.name} arrived than announced.`));
    // Copy: the transport may reuse its buffer.
    this.chunks.push(Buffer.from(chunk));
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes, this.header.size);
  }
}

function errorFrom(e: ErrorBody): FileTransferError {
  return new FileTransferError(e.code, e.message);
}
