import { tarEntryHeader } from '@aegis/esp/tar';

/**
 * The workspace helper: a small, self-contained program that the machine runs AS THE WORKSPACE OWNER inside the
 * job's sandbox (see workspace-ops.ts) for every file operation in a job workspace. Whatever a user planted there
 * (symlinks, swapped directories) can then only reach what the user reaches from their own terminal.
 *
 * `helperMain` must not reference anything outside its own body: it is stringified into a CommonJS script
 * (helperScript()) that /usr/bin/node runs with only node's built-in modules. The tar header writer is libs/esp's
 * `tarEntryHeader` (the repository's one), passed in by value: the script carries its source text too.
 *
 * Usage: `node helper.cjs <op> <workspace root> [json argument]`; stdin/stdout are binary. Exit codes: 0 ok,
 * 2 refused (message on stderr), 3 nothing to do, 28 the workspace is full (ENOSPC), 1 anything else.
 */
export function helperMain(require: NodeJS.Require, argv: string[], paxHeader: typeof tarEntryHeader): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const crypto = require('node:crypto') as typeof import('node:crypto');

  class Refused extends Error {}
  const sleepMs = (ms: number): void => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  };

  function writeAll(fd: number, buf: Uint8Array): void {
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(fd, buf, off, buf.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') sleepMs(2);
        else throw e;
      }
    }
  }

  /** Synchronous reader over stdin (a pipe), so the whole helper stays simple and bounded. */
  const input = {
    buf: Buffer.alloc(0),
    eof: false,
    fill(n: number): void {
      const chunks: Buffer[] = [this.buf];
      let have = this.buf.length;
      while (have < n && !this.eof) {
        const b = Buffer.allocUnsafe(Math.max(65536, n - have));
        let got: number;
        try {
          got = fs.readSync(0, b, 0, b.length, null);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') {
            sleepMs(2);
            continue;
          }
          if (code === 'EOF') got = 0;
          else throw e;
        }
        if (got === 0) this.eof = true;
        else {
          chunks.push(b.subarray(0, got));
          have += got;
        }
      }
      this.buf = Buffer.concat(chunks);
    },
    /** Exactly n bytes, or fewer at the end of input. */
    read(n: number): Buffer {
      this.fill(n);
      const out = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(out.length);
      return out;
    },
    drain(): void {
      while (!this.eof) this.read(1 << 20);
    },
  };

  function safeRel(p: string): string {
    const norm = path.posix.normalize(p.replace(/\/+$/, '') || '.');
    if (norm === '.') return '';
    if (p.includes('\0') || p.includes('\\')) throw new Refused(`the path "${p}"`);
    if (norm.startsWith('/') || norm === '..' || norm.startsWith('../') || p.split('/').includes('..'))
      throw new Refused(`the path "${p}" that leaves the project`);
    return norm;
  }

  function mkdirs(dir: string): void {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  }

  const octal = (b: Buffer, off: number, len: number): number => {
    const field = b.subarray(off, off + len);
    if (field[0] & 0x80) {
      let v = 0;
      for (let i = 1; i < field.length; i++) v = v * 256 + field[i];
      return v;
    }
    const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
    return s ? parseInt(s, 8) : 0;
  };
  const cstr = (b: Buffer, off: number, len: number): string => {
    const f = b.subarray(off, off + len);
    const z = f.indexOf(0);
    return f.subarray(0, z < 0 ? f.length : z).toString('utf8');
  };
  function parsePax(data: Buffer): Record<string, string> {
    const out: Record<string, string> = {};
    let off = 0;
    while (off < data.length) {
      const sp = data.indexOf(0x20, off);
      if (sp < 0) break;
      const len = parseInt(data.subarray(off, sp).toString('latin1'), 10);
      if (!(len > 0)) break;
      const rec = data.subarray(sp + 1, off + len - 1).toString('utf8');
      const eq = rec.indexOf('=');
      if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
      off += len;
    }
    return out;
  }

  interface ExtractOptions {
    allowLinks: boolean;
    maxFiles: number;
    maxBytes: number;
    /** Called for a file entry; return a Buffer sink to keep it in memory instead of writing it. */
    keep?: (rel: string) => boolean;
    skip?: (rel: string) => boolean;
  }

  /** Extracts a tar from stdin into `dest` (plain files, directories, and symlinks when allowed). */
  function extract(dest: string, o: ExtractOptions): { files: number; bytes: number; kept: Map<string, Buffer> } {
    let files = 0;
    let bytes = 0;
    const kept = new Map<string, Buffer>();
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    const dirTimes: Array<[string, number]> = [];
    for (;;) {
      const h = input.read(512);
      if (h.length < 512) {
        if (h.length === 0) break;
        throw new Refused('a damaged archive (truncated header)');
      }
      if (h.every((x) => x === 0)) break;
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
      if (sum !== octal(h, 148, 8)) throw new Refused('a damaged archive (bad header checksum)');
      const type = String.fromCharCode(h[156] || 48);
      const size = octal(h, 124, 12);
      const padded = Math.ceil(size / 512) * 512;
      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        if (size > 1024 * 1024) throw new Refused('a damaged archive (oversized extended header)');
        const data = input.read(padded).subarray(0, size);
        if (type === 'x') pax = parsePax(data);
        else if (type === 'L') longName = cstr(data, 0, data.length);
        continue;
      }
      const prefix = cstr(h, 345, 155);
      const rawName = pax.path ?? longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
      const linkName = pax.linkpath ?? cstr(h, 157, 100);
      const mtime = pax.mtime !== undefined ? Number(pax.mtime) : octal(h, 136, 12);
      const mode = octal(h, 100, 8);
      pax = {};
      longName = undefined;
      const rel = safeRel(rawName);
      const target = path.join(dest, rel);
      if (!rel && type !== '5') throw new Refused(`an entry without a name`);
      if (type === '5') {
        mkdirs(target);
        dirTimes.push([target, mtime]);
        input.read(padded);
        continue;
      }
      if (type === '2' && o.allowLinks) {
        input.read(padded);
        if (o.skip?.(rel)) continue;
        mkdirs(path.dirname(target));
        fs.rmSync(target, { force: true });
        fs.symlinkSync(linkName, target);
        continue;
      }
      if (type !== '0' && type !== '7') throw new Refused(`an entry of type "${type}" at "${rel}"`);
      files++;
      bytes += size;
      if (files > o.maxFiles) throw new Refused(`more than ${o.maxFiles} files`);
      if (bytes > o.maxBytes) throw new Refused(`more than ${o.maxBytes} unpacked bytes`);
      if (o.keep?.(rel)) {
        kept.set(rel, Buffer.from(input.read(padded).subarray(0, size)));
        continue;
      }
      if (o.skip?.(rel)) {
        for (let left = padded; left > 0; left -= Math.min(left, 1 << 20)) input.read(Math.min(left, 1 << 20));
        continue;
      }
      mkdirs(path.dirname(target));
      fs.rmSync(target, { force: true, recursive: true });
      const fd = fs.openSync(
        target,
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        mode & 0o111 ? 0o755 : 0o644,
      );
      try {
        let left = size;
        while (left > 0) {
          const chunk = input.read(Math.min(left, 1 << 20));
          if (chunk.length === 0) throw new Refused('a damaged archive (truncated file)');
          writeAll(fd, chunk);
          left -= chunk.length;
        }
        if (padded > size) input.read(padded - size);
        fs.futimesSync(fd, mtime, mtime);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (const [d, t] of dirTimes.reverse()) fs.utimesSync(d, t, t);
    return { files, bytes, kept };
  }

  /**
   * A file time for the archive, in decimal seconds: nanoseconds cut to microseconds, minus one. Never later than
   * the real time, even after the double rounding of utimes: ninja rebuilds an output whose restored mtime is
   * newer than the one its deps log recorded ("stored deps info out of date"), so rounding up costs a rebuild.
   */
  function archiveTime(ns: bigint): string {
    const us = ns / 1000n - 1n;
    return `${us / 1000000n}.${(us % 1000000n).toString().padStart(6, '0')}`;
  }

  function packFile(abs: string, rel: string, big: import('node:fs').BigIntStats): void {
    const st = { size: Number(big.size), mode: Number(big.mode) };
    // Headers from libs/esp's writer (paxHeader), with PAX records for the exact path, link and sub-second mtime.
    const mtime = archiveTime(big.mtimeNs);
    writeAll(1, paxHeader({ path: rel, type: '0', size: st.size, mode: st.mode & 0o7777, mtime, pax: true }));
    const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const b = Buffer.allocUnsafe(1 << 20);
      let left = st.size;
      while (left > 0) {
        const n = fs.readSync(fd, b, 0, Math.min(b.length, left), null);
        if (n === 0) break;
        writeAll(1, b.subarray(0, n));
        left -= n;
      }
      // A file that shrank meanwhile is padded, so the archive stays well-formed.
      if (left > 0) writeAll(1, Buffer.alloc(left));
    } finally {
      fs.closeSync(fd);
    }
    const pad = (512 - (st.size % 512)) % 512;
    if (pad) writeAll(1, Buffer.alloc(pad));
  }

  function packTree(abs: string, rel: string): void {
    const st = fs.lstatSync(abs, { bigint: true });
    const head = { path: rel, size: 0, mtime: archiveTime(st.mtimeNs), pax: true };
    if (st.isSymbolicLink())
      writeAll(1, paxHeader({ ...head, type: '2', mode: 0o777, linkname: fs.readlinkSync(abs) }));
    else if (st.isFile()) packFile(abs, rel, st);
    else if (st.isDirectory()) {
      writeAll(1, paxHeader({ ...head, type: '5', mode: Number(st.mode) & 0o7777 }));
      for (const e of fs.readdirSync(abs).sort()) packTree(path.join(abs, e), `${rel}/${e}`);
    }
  }

  const SKIP = new Set(['build', '.git']);
  function sourceFiles(project: string): string[] {
    const out: string[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!rel && SKIP.has(e.name)) continue;
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(dir, e.name), r);
        else if (e.isFile()) out.push(r);
      }
    };
    walk(project, '');
    return out;
  }
  function sha256(file: string): string {
    const h = crypto.createHash('sha256');
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const b = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = fs.readSync(fd, b, 0, b.length, null)) > 0;) h.update(b.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    return h.digest('hex');
  }

  /** Up to `size` bytes of an open file (fewer when it shrank meanwhile). */
  function readOpen(fd: number, size: number): Buffer {
    const b = Buffer.alloc(size);
    let off = 0;
    while (off < b.length) {
      const n = fs.readSync(fd, b, off, b.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return b.subarray(0, off);
  }

  /** A regular file of the project (never through a symlink), or why not. */
  function readSmall(file: string, max: number): { kind: 'file'; text: string } | { kind: 'other' | 'too_big' } | null {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      if (code === 'ELOOP') return { kind: 'other' };
      throw e;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return { kind: 'other' };
      if (st.size > max) return { kind: 'too_big' };
      return { kind: 'file', text: readOpen(fd, st.size).toString('utf8') };
    } finally {
      fs.closeSync(fd);
    }
  }

  const [op, root, argText] = argv;
  const arg = argText ? (JSON.parse(argText) as Record<string, unknown>) : {};
  const project = path.join(root, 'project');
  const json = (v: unknown): void => writeAll(1, Buffer.from(JSON.stringify(v)));
  try {
    switch (op) {
      case 'init': {
        for (const d of ['project', '.home']) fs.mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
        json({ ok: true });
        break;
      }
      case 'unpack': {
        // Into a fresh directory first: the old project is replaced only when the whole archive unpacked.
        const fresh = path.join(root, `.project-new-${process.pid}`);
        fs.rmSync(fresh, { recursive: true, force: true });
        fs.mkdirSync(fresh, { mode: 0o755 });
        let r;
        try {
          r = extract(fresh, {
            allowLinks: false,
            maxFiles: Number(arg.maxFiles),
            maxBytes: Number(arg.maxBytes),
          });
        } catch (e) {
          fs.rmSync(fresh, { recursive: true, force: true });
          throw e;
        }
        const old = path.join(root, `.project-old-${process.pid}`);
        if (fs.lstatSync(project, { throwIfNoEntry: false })) fs.renameSync(project, old);
        fs.renameSync(fresh, project);
        fs.rmSync(old, { recursive: true, force: true });
        json({ files: r.files, bytes: r.bytes });
        break;
      }
      case 'files': {
        const st = fs.lstatSync(project, { throwIfNoEntry: false });
        const out: Record<string, unknown> = { project: st ? (st.isDirectory() ? 'dir' : 'other') : 'missing' };
        const files: Record<string, unknown> = {};
        if (st?.isDirectory()) {
          for (const name of arg.names as string[])
            files[name] = readSmall(path.join(project, safeRel(name)), Number(arg.maxBytes));
        }
        json({ ...out, files });
        break;
      }
      case 'view': {
        // Directory listings (real directories only) and small text files of the project, for the SBOM.
        const lists: Record<string, string[] | null> = {};
        const texts: Record<string, string | null> = {};
        for (const d of (arg.list as string[]) ?? []) {
          const abs = path.join(project, safeRel(d));
          const st = fs.lstatSync(abs, { throwIfNoEntry: false });
          lists[d] = st?.isDirectory() ? fs.readdirSync(abs) : null;
        }
        for (const f of (arg.read as string[]) ?? []) {
          const r = readSmall(path.join(project, safeRel(f)), 1024 * 1024);
          texts[f] = r?.kind === 'file' ? r.text : null;
        }
        json({ lists, texts });
        break;
      }
      case 'read': {
        // Build outputs as frames: u32 length of a JSON {name, size|null}, then the bytes.
        const base = path.join(project, safeRel(String(arg.base)));
        const baseSt = fs.lstatSync(base, { throwIfNoEntry: false });
        for (const name of arg.names as string[]) {
          let bytes: Buffer | undefined;
          if (baseSt?.isDirectory()) {
            const r = readSmallBinary(path.join(base, safeRel(name)), Number(arg.maxBytes));
            bytes = r ?? undefined;
          }
          const meta = Buffer.from(JSON.stringify({ name, size: bytes ? bytes.length : null }));
          const len = Buffer.alloc(4);
          len.writeUInt32BE(meta.length);
          writeAll(1, Buffer.concat([len, meta]));
          if (bytes) writeAll(1, bytes);
        }
        break;
      }
      case 'pack': {
        // The incremental build state: the source stamps, then build/ and sdkconfig, as one tar on stdout.
        const build = fs.lstatSync(path.join(project, 'build'), { throwIfNoEntry: false });
        if (!build?.isDirectory()) {
          process.exitCode = 3;
          break;
        }
        const stamps: Record<string, { sha256: string; mtime: string }> = {};
        for (const rel of sourceFiles(project)) {
          const p = path.join(project, rel);
          stamps[rel] = { sha256: sha256(p), mtime: archiveTime(fs.lstatSync(p, { bigint: true }).mtimeNs) };
        }
        const stampBytes = Buffer.from(JSON.stringify(stamps));
        const mtime = archiveTime(BigInt(Date.now()) * 1000000n);
        const stampsPath = '.aegis-source-stamps.json';
        writeAll(1, paxHeader({ path: stampsPath, type: '0', size: stampBytes.length, mode: 0o644, mtime, pax: true }));
        writeAll(1, stampBytes);
        writeAll(1, Buffer.alloc((512 - (stampBytes.length % 512)) % 512));
        const sdk = fs.lstatSync(path.join(project, 'sdkconfig'), { throwIfNoEntry: false, bigint: true });
        if (sdk?.isFile()) packFile(path.join(project, 'sdkconfig'), 'sdkconfig', sdk);
        packTree(path.join(project, 'build'), 'build');
        writeAll(1, Buffer.alloc(1024));
        break;
      }
      case 'restore': {
        // Only into a project without its own build/; the project's own sdkconfig wins over the cached one.
        if (fs.lstatSync(path.join(project, 'build'), { throwIfNoEntry: false })) {
          input.drain();
          json({ restored: false });
          break;
        }
        const ownSdkconfig = !!fs.lstatSync(path.join(project, 'sdkconfig'), { throwIfNoEntry: false });
        const r = extract(project, {
          allowLinks: true,
          maxFiles: Number.MAX_SAFE_INTEGER,
          maxBytes: Number.MAX_SAFE_INTEGER,
          keep: (rel) => rel === '.aegis-source-stamps.json',
          skip: (rel) => (rel === 'sdkconfig' && ownSdkconfig) || !(rel === 'sdkconfig' || rel.startsWith('build/')),
        });
        // Honest mtimes for ninja: unchanged content gets the cached build's mtime back, changed content "now".
        const stampsText = r.kept.get('.aegis-source-stamps.json');
        const stamps = stampsText
          ? (JSON.parse(stampsText.toString('utf8')) as Record<string, { sha256?: string; mtime?: unknown }>)
          : {};
        const nowArg = Number(arg.nowMs) / 1000;
        const now = Number.isFinite(nowArg) ? nowArg : Date.now() / 1000;
        for (const rel of sourceFiles(project)) {
          const p = path.join(project, rel);
          const known = stamps[rel];
          // A stamp this helper cannot read (an older cache entry's) counts as changed: rebuilt, never an error.
          const cached = known && sha256(p) === known.sha256 ? Number(known.mtime) : NaN;
          const t = Number.isFinite(cached) ? cached : now;
          fs.utimesSync(p, t, t);
        }
        // The settings files as they are now (the restored sdkconfig), read as `files` does: no second helper run.
        const files: Record<string, unknown> = {};
        for (const name of (arg.read as string[] | undefined) ?? [])
          files[name] = readSmall(path.join(project, safeRel(name)), Number(arg.maxBytes));
        json({ restored: true, files: { project: 'dir', files } });
        break;
      }
      case 'clear': {
        // Everything in the workspace goes, as its owner; what cannot be removed is reported.
        let left = 0;
        for (const e of fs.readdirSync(root)) {
          try {
            fs.rmSync(path.join(root, e), { recursive: true, force: true });
          } catch {
            left++;
          }
        }
        json({ left });
        break;
      }
      default:
        throw new Refused(`unknown operation ${op}`);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof Refused) {
      fs.writeSync(2, err.message);
      process.exitCode = 2;
    } else if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
      fs.writeSync(2, 'ENOSPC');
      process.exitCode = 28;
    } else {
      fs.writeSync(2, `${err.code ?? 'error'}: ${err.message}`);
      process.exitCode = 1;
    }
  }

  function readSmallBinary(file: string, max: number): Buffer | null {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch {
      return null;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size > max) return null;
      return readOpen(fd, st.size);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The helper as a self-contained CommonJS program (what /usr/bin/node runs in the sandbox). */
export function helperScript(): string {
  // Transpilers may wrap functions in a `__name(fn, "name")` helper; give it a harmless definition.
  return (
    '"use strict";\nvar __name = (f) => f;\n' +
    `(${helperMain.toString()})(require, process.argv.slice(2), ${tarEntryHeader.toString()});\n`
  );
}
