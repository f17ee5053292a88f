import { EspFormatError } from './errors.js';

/**
 * The repository's one tar writer and reader (POSIX ustar), browser-safe: the dashboard and espctl pack projects
 * for `upload.begin` with it, the dashboard reads and writes flash bundles (.tar) with it, and the machine's tests
 * make hostile archives with `tarRecord`. Regular files only in `writeTar`; directories are implied by paths.
 * Its header writer, `tarEntryHeader`, is also the one of the machine's workspace helper, which gets it by value
 * (a standalone script with no imports) to stream the build state with PAX headers (exact paths, sub-second mtimes).
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
const dec = new TextDecoder();

/** A relative path inside the archive's root (backslashes and a leading `./` accepted), or EspFormatError. */
export function normalizeTarPath(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/^\.\/+/, '');
  if (!p || p.startsWith('/') || p.split('/').some((s) => s === '..' || s === ''))
    throw new EspFormatError('bad_path', `The path "${path}" must be relative and stay inside the project.`);
  return p;
}

/** The fields of one entry's header. */
export interface TarHeaderFields {
  path: string;
  size: number;
  type?: TarEntryType;
  mode?: number;
  /** Seconds since the epoch: a number, or a decimal string (exact sub-second time for a PAX `mtime` record). */
  mtime?: number | string;
  linkname?: string;
  /** Add a PAX extended header with the exact `path`, `mtime` and `linkpath` (if any), whether they fit or not. */
  pax?: boolean;
}

/**
 * The header block(s) of one entry, as given (no path checks): one ustar block, preceded by a PAX extended header
 * (type 'x': `path`, `mtime`, `linkpath` records) when `pax` asks for it, or with only the records for a path or
 * link that does not fit the ustar fields. uid/gid are 0; the ustar mtime field holds the whole seconds.
 *
 * SELF-CONTAINED ON PURPOSE: it references nothing outside its own body (no imports, no module constants, no Node
 * globals), because the machine's workspace helper receives its source text (`toString()`) and runs it as a
 * standalone script with only node built-ins. Keep it that way; it is the one tar header writer of the repository.
 */
export function tarEntryHeader(h: TarHeaderFields): Uint8Array {
  const enc = new TextEncoder();
  const type = h.type ?? '0';
  const mode = h.mode ?? (type === '5' ? 0o755 : 0o644);
  const mtime = h.mtime === undefined ? '0' : String(h.mtime);
  const link = h.linkname ?? '';
  const fits = (s: string, n: number): boolean => enc.encode(s).length <= n;

  // The path over the 100-byte name and 155-byte prefix fields, split at a slash; null when it cannot fit.
  let split: { name: string; prefix: string } | null = null;
  if (fits(h.path, 100)) split = { name: h.path, prefix: '' };
  for (let i = h.path.lastIndexOf('/'); !split && i > 0; i = h.path.lastIndexOf('/', i - 1)) {
    const prefix = h.path.slice(0, i);
    const name = h.path.slice(i + 1);
    if (fits(prefix, 155) && fits(name, 100)) split = { name, prefix };
  }

  const block = (name: string, prefix: string, t: string, size: number, linkName: string): Uint8Array => {
    const b = new Uint8Array(512);
    const put = (offset: number, len: number, s: string): void => b.set(enc.encode(s).subarray(0, len), offset);
    const putOctal = (offset: number, len: number, n: number): void =>
      put(offset, len, n.toString(8).padStart(len - 1, '0') + '\0');
    put(0, 100, name);
    putOctal(100, 8, mode);
    putOctal(108, 8, 0);
    putOctal(116, 8, 0);
    putOctal(124, 12, size);
    putOctal(136, 12, Math.floor(Number(mtime)));
    b.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
    put(156, 1, t);
    if (linkName) put(157, 100, linkName);
    put(257, 6, 'ustar\0');
    put(263, 2, '00');
    put(345, 155, prefix);
    let sum = 0;
    for (const x of b) sum += x;
    put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    return b;
  };
  const entry = block(split?.name ?? h.path, split?.prefix ?? '', type, h.size, link);

  const records: string[] = [];
  // One record is "<length> <key>=<value>\n", its length counting its own digits.
  const record = (key: string, value: string): void => {
    const body = enc.encode(` ${key}=${value}\n`).length;
    let len = body + 1;
    while (String(len).length + body !== len) len = String(len).length + body;
    records.push(`${len} ${key}=${value}\n`);
  };
  if (h.pax || !split) record('path', h.path);
  if (h.pax) record('mtime', mtime);
  if (link && (h.pax || !fits(link, 100))) record('linkpath', link);
  if (!records.length) return entry;

  const body = enc.encode(records.join(''));
  const padded = Math.ceil(body.length / 512) * 512;
  const out = new Uint8Array(512 + padded + 512);
  out.set(block('PaxHeader', '', 'x', body.length, ''), 0);
  out.set(body, 512);
  out.set(entry, 512 + padded);
  return out;
}

/**
 * One entry's header as given, no path checks (tests build hostile archives with it): the ustar block, after a
 * PAX header when asked or needed (see tarEntryHeader). `writeTar` is the checked way to make an archive.
 */
export function tarHeader(h: TarHeaderFields): Uint8Array {
  return tarEntryHeader(h);
}

/** A header and its data padded to whole blocks. */
export function tarRecord(h: TarHeaderFields, data: Uint8Array = new Uint8Array(0)): Uint8Array[] {
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
    const record = tarRecord({ path, size: e.data.length, mode: e.mode, mtime: e.mtime }, e.data);
    // Plain ustar only, so every reader (readTar included) gets the path from the header block itself.
    if (record[0].length > BLOCK)
      throw new EspFormatError('bad_path', `The path "${path}" is too long for a tar archive; shorten it.`);
    records.push(...record);
  }
  return tarArchive(records);
}

/** Reads the regular files of a ustar/GNU/PAX tar (as `tar -cf` or writeTar makes); everything else is skipped. */
export function readTar(buf: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const str = (o: number, n: number) => dec.decode(buf.subarray(o, o + n)).replace(/\0[\s\S]*$/, '');
  let longName: string | null = null;
  const paxPath = (data: Uint8Array): string | null => {
    let path: string | null = null;
    for (let i = 0; i < data.length;) {
      const sp = data.indexOf(0x20, i);
      const len = sp < 0 ? NaN : parseInt(dec.decode(data.subarray(i, sp)), 10);
      if (!(len > 0)) break;
      const rec = dec.decode(data.subarray(sp + 1, i + len - 1));
      if (rec.startsWith('path=')) path = rec.slice(5);
      i += len;
    }
    return path;
  };
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
    else if (type === 'x') longName = paxPath(data);
    else if (type === '0' || type === '\0') out.set(normalizeTarPath(name), data.slice());
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
