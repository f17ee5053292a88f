import { EspFormatError } from './errors.js';

/**
 * The repository's one tar writer and reader (POSIX ustar), browser-safe: the dashboard and espctl pack projects
 * for `upload.begin` with it, the dashboard reads and writes flash bundles (.tar) with it, and the machine's tests
 * make hostile archives with `tarRecord`. Regular files only in `writeTar`; directories are implied by paths.
 * (The machine's workspace helper streams its own archives: it runs as a self-contained script with no imports.)
 */
export interface TarEntry {
  path: string;
  data: Uint8Array;
  mode?: number;
  /** Seconds since the epoch; 0 (the default) keeps an archive reproducible. */
  mtime?: number;
}

/** Type flags of the ustar header: file, hard link, symlink, char device, directory, FIFO. */
export type TarEntryType = '0' | '1' | '2' | '3' | '5' | '6';

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A relative path inside the archive's root (backslashes and a leading `./` accepted), or EspFormatError. */
export function normalizeTarPath(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/^\.\/+/, '');
  if (!p || p.startsWith('/') || p.split('/').some((s) => s === '..' || s === ''))
    throw new EspFormatError('bad_path', `The path "${path}" must be relative and stay inside the project.`);
  return p;
}

/** Splits a path over the 100-byte name and 155-byte prefix fields, at a slash. */
function splitPath(path: string): { name: string; prefix: string } {
  if (enc.encode(path).length <= 100) return { name: path, prefix: '' };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100) return { name, prefix };
  }
  throw new EspFormatError('bad_path', `The path "${path}" is too long for a tar archive; shorten it.`);
}

function put(block: Uint8Array, offset: number, size: number, s: string) {
  block.set(enc.encode(s).subarray(0, size), offset);
}

function putOctal(block: Uint8Array, offset: number, size: number, n: number) {
  put(block, offset, size, n.toString(8).padStart(size - 1, '0') + '\0');
}

/**
 * One ustar header block, as given: no path checks (tests build hostile archives with it). `writeTar` is the
 * checked way to make an archive.
 */
export function tarHeader(h: {
  path: string;
  size: number;
  type?: TarEntryType;
  mode?: number;
  mtime?: number;
  linkname?: string;
}): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const { name, prefix } = splitPath(h.path);
  put(b, 0, 100, name);
  putOctal(b, 100, 8, h.mode ?? (h.type === '5' ? 0o755 : 0o644));
  putOctal(b, 108, 8, 0);
  putOctal(b, 116, 8, 0);
  putOctal(b, 124, 12, h.size);
  putOctal(b, 136, 12, Math.floor(h.mtime ?? 0));
  b.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  put(b, 156, 1, h.type ?? '0');
  if (h.linkname) put(b, 157, 100, h.linkname);
  put(b, 257, 6, 'ustar\0');
  put(b, 263, 2, '00');
  put(b, 345, 155, prefix);
  let sum = 0;
  for (const x of b) sum += x;
  put(b, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return b;
}

/** A header and its data padded to whole blocks. */
export function tarRecord(h: Parameters<typeof tarHeader>[0], data: Uint8Array = new Uint8Array(0)): Uint8Array[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return [tarHeader(h), data, new Uint8Array(pad)];
}

/** Concatenates records and the two zero blocks that end an archive. */
export function tarArchive(records: readonly Uint8Array[]): Uint8Array {
  const parts = [...records, new Uint8Array(BLOCK * 2)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A ustar archive of regular files; refuses paths that escape the root, are absolute, too long or repeated. */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const seen = new Set<string>();
  const records: Uint8Array[] = [];
  for (const e of entries) {
    const path = normalizeTarPath(e.path);
    if (seen.has(path)) throw new EspFormatError('bad_path', `The path "${path}" appears twice.`);
    seen.add(path);
    records.push(...tarRecord({ path, size: e.data.length, mode: e.mode, mtime: e.mtime }, e.data));
  }
  return tarArchive(records);
}

/** Reads the regular files of a ustar/GNU tar (as `tar -cf` or writeTar makes); everything else is skipped. */
export function readTar(buf: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const str = (o: number, n: number) => dec.decode(buf.subarray(o, o + n)).replace(/\0[\s\S]*$/, '');
  let longName: string | null = null;
  for (let off = 0; off + BLOCK <= buf.length;) {
    if (buf.subarray(off, off + BLOCK).every((b) => b === 0)) break;
    const size = parseInt(str(off + 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0 || off + BLOCK + size > buf.length)
      throw new EspFormatError('truncated', 'The archive is truncated or not a tar file.');
    const type = String.fromCharCode(buf[off + 156] || 0x30);
    const prefix = str(off + 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${str(off, 100)}` : str(off, 100));
    longName = null;
    const data = buf.subarray(off + BLOCK, off + BLOCK + size);
    if (type === 'L') longName = dec.decode(data).replace(/\0[\s\S]*$/, '');
    else if (type === '0' || type === '\0') out.set(normalizeTarPath(name), data.slice());
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
