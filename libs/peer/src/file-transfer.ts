import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { MAX_FRAME_BYTES } from '@aegis/protocol';
import { FileTransferError } from './file-receiver.js';
import type { LimitedSender } from './limited-sender.js';

// Node only (node:fs, node:crypto): the machine's half. The client's half, browser-safe, is file-receiver.ts.

/**
 * The `firmware` channel protocol. Machine → client: JSON `header {name,size,sha256,offset}`,
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
