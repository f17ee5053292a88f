/**
 * A minimal POSIX ustar writer (regular files only; directories are implied by paths), enough to upload a
 * project over the `espctl` channel. Paths longer than 100 bytes use the 155-byte prefix field; anything
 * that still does not fit, or that escapes the root, is refused.
 */
export interface TarEntry {
  path: string;
  data: Uint8Array;
  mode?: number;
  mtime?: number;
}

const BLOCK = 512;
const enc = new TextEncoder();

export class TarError extends Error {
  readonly code = 'bad_project_path';
}

function splitPath(path: string): { name: string; prefix: string } {
  const bytes = enc.encode(path);
  if (bytes.length <= 100) return { name: path, prefix: '' };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100) return { name, prefix };
  }
  throw new TarError(`The path "${path}" is too long for a tar archive; shorten it.`);
}

function writeString(block: Uint8Array, offset: number, size: number, s: string) {
  const b = enc.encode(s);
  block.set(b.subarray(0, size), offset);
}

function writeOctal(block: Uint8Array, offset: number, size: number, n: number) {
  writeString(block, offset, size, n.toString(8).padStart(size - 1, '0') + '\0');
}

export function normalizeTarPath(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/^\.\/+/, '');
  if (!p || p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '')) {
    throw new TarError(`The path "${path}" must be relative and stay inside the project.`);
  }
  return p;
}

function header(entry: TarEntry, path: string): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const { name, prefix } = splitPath(path);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, entry.mode ?? 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, entry.data.length);
  writeOctal(h, 136, 12, Math.floor(entry.mtime ?? 0));
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h[156] = 0x30; // '0' regular file
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const e of entries) {
    const path = normalizeTarPath(e.path);
    if (seen.has(path)) throw new TarError(`The path "${path}" appears twice.`);
    seen.add(path);
    const h = header(e, path);
    const padded = Math.ceil(e.data.length / BLOCK) * BLOCK;
    parts.push(h, e.data);
    if (padded > e.data.length) parts.push(new Uint8Array(padded - e.data.length));
    total += BLOCK + padded;
  }
  parts.push(new Uint8Array(BLOCK * 2));
  total += BLOCK * 2;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
