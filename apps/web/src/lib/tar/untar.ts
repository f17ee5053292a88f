import { TarError, normalizeTarPath } from './ustar';

/** Reads regular files out of a ustar/GNU tar (as `tar -cf` or our writer makes); everything else is skipped. */
export function readTar(buf: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  const str = (o: number, n: number) => dec.decode(buf.subarray(o, o + n)).replace(/\0[\s\S]*$/, '');
  let longName: string | null = null;
  for (let off = 0; off + 512 <= buf.length;) {
    if (buf.subarray(off, off + 512).every((b) => b === 0)) break;
    const size = parseInt(str(off + 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0 || off + 512 + size > buf.length)
      throw new TarError('The bundle archive is truncated or not a tar file.');
    const type = String.fromCharCode(buf[off + 156] || 0x30);
    const prefix = str(off + 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${str(off, 100)}` : str(off, 100));
    longName = null;
    const data = buf.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = dec.decode(data).replace(/\0[\s\S]*$/, '');
    else if (type === '0' || type === '\0') {
      name = name.replace(/^\.\//, '');
      out.set(normalizeTarPath(name), data.slice());
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
