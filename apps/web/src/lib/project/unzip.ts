import type { TarEntry } from '@aegis/esp';

/**
 * Reads a .zip in the browser: central directory → local headers → stored or deflated data (DecompressionStream
 * 'deflate-raw'). Zip64, encryption and other methods are refused with a clear message.
 */
export class ZipError extends Error {
  readonly code = 'bad_zip';
}

const u16 = (b: DataView, o: number) => b.getUint16(o, true);
const u32 = (b: DataView, o: number) => b.getUint32(o, true);

async function inflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function unzip(buf: Uint8Array, maxTotal = 64 * 1024 * 1024): Promise<TarEntry[]> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (u32(v, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('This file is not a zip archive (no end-of-directory record).');
  const count = u16(v, eocd + 10);
  let p = u32(v, eocd + 16);
  if (p === 0xffffffff) throw new ZipError('Zip64 archives are not supported; zip the project without Zip64.');
  const out: TarEntry[] = [];
  let total = 0;
  const dec = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || u32(v, p) !== 0x02014b50) throw new ZipError('The zip directory is damaged.');
    const flags = u16(v, p + 8);
    const method = u16(v, p + 10);
    const csize = u32(v, p + 20);
    const size = u32(v, p + 24);
    const nameLen = u16(v, p + 28);
    const extraLen = u16(v, p + 30);
    const commentLen = u16(v, p + 32);
    const extAttr = u32(v, p + 38);
    const local = u32(v, p + 42);
    const name = dec.decode(buf.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue;
    if (flags & 1) throw new ZipError(`"${name}" is encrypted; upload an unencrypted zip.`);
    total += size;
    if (total > maxTotal) throw new ZipError('The project is larger than the 64 MiB upload limit.');
    if (u32(v, local) !== 0x04034b50) throw new ZipError('The zip file is damaged.');
    const start = local + 30 + u16(v, local + 26) + u16(v, local + 28);
    const raw = buf.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) data = raw.slice();
    else if (method === 8) data = await inflateRaw(raw);
    else throw new ZipError(`"${name}" uses compression method ${method}; use deflate or store.`);
    if (data.length !== size) throw new ZipError(`"${name}" did not unpack to its declared size.`);
    const unixMode = (extAttr >>> 16) & 0o777;
    out.push({ path: name, data, mode: unixMode & 0o111 ? 0o755 : 0o644 });
  }
  return out;
}
