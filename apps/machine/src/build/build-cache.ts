import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface CacheKey {
  userId: string;
  project: string;
  target: string;
  idfVersion: string;
}

export interface BuildCacheOptions {
  dir: string;
  maxBytes: number;
  ttlSecs: number;
  now?: () => number;
}

/**
 * Incremental build state per (user, project, target, IDF version). Each entry is ONE OPAQUE FILE: the archive
 * the workspace owner packed in the job's sandbox (build/, sdkconfig and the source stamps; see
 * WorkspaceOps.packState) and that the next job's owner unpacks there again (restoreState). The machine only
 * stores, ages and evicts these files; it never extracts or walks user content. Bounded by size (least recently
 * used entries go first) and by age.
 */
export class BuildCache {
  /** Saves in flight by entry key: a restore of the same entry waits for them. */
  private readonly saving = new Map<string, Promise<boolean>>();
  private readonly now: () => number;

  constructor(private readonly opts: BuildCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  keyOf(k: CacheKey): string {
    return createHash('sha256')
      .update(JSON.stringify([k.userId, k.project, k.target, k.idfVersion]))
      .digest('hex');
  }

  private entryFile(key: string): string {
    return path.join(this.opts.dir, `${key.slice(0, 40)}.state`);
  }

  private async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    // Only the machine reads the cache; a sandbox never sees it.
    await chmod(this.opts.dir, 0o700);
  }

  /**
   * Hands the cached state to `put` (which unpacks it into the project as the workspace owner, and says whether
   * it did: a project that brings its own build/ keeps it). Returns true on a hit that was used.
   */
  async restore(k: CacheKey, put: (state: Readable) => Promise<boolean>): Promise<boolean> {
    // A save of this entry may still be running (it finishes after its build reported success): wait for it.
    await this.saving.get(this.keyOf(k))?.catch(() => undefined);
    const file = this.entryFile(this.keyOf(k));
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return false;
    if (this.now() - st.mtimeMs > this.opts.ttlSecs * 1000) {
      await rm(file, { force: true });
      return false;
    }
    const src = createReadStream(file);
    let used: boolean;
    try {
      used = await put(src);
    } finally {
      src.destroy();
    }
    if (used) {
      const t = new Date(this.now());
      await utimes(file, t, t).catch(() => undefined);
    }
    return used;
  }

  /**
   * Stores what `take` writes (the packed state; `take` returns false when there is nothing to cache), replacing
   * the entry atomically, then enforces size and age limits.
   */
  save(k: CacheKey, take: (dest: Writable) => Promise<boolean>): Promise<boolean> {
    const key = this.keyOf(k);
    const before = this.saving.get(key)?.catch(() => undefined);
    const p = (async () => {
      await before;
      return this.saveNow(k, take);
    })();
    this.saving.set(key, p);
    void p
      .catch(() => undefined)
      .finally(() => {
        if (this.saving.get(key) === p) this.saving.delete(key);
      });
    return p;
  }

  private async saveNow(k: CacheKey, take: (dest: Writable) => Promise<boolean>): Promise<boolean> {
    await this.init();
    const file = this.entryFile(this.keyOf(k));
    const tmp = `${file}.tmp-${process.pid}-${Math.floor(this.now())}-${Math.random().toString(36).slice(2, 8)}`;
    const out = createWriteStream(tmp, { mode: 0o600 });
    let ok: boolean;
    try {
      ok = await take(out);
    } finally {
      if (!out.closed) await new Promise<void>((r) => out.end(() => r()));
    }
    if (!ok) {
      await rm(tmp, { force: true });
      return false;
    }
    await rename(tmp, file);
    const t = new Date(this.now());
    await utimes(file, t, t);
    await this.evict();
    return true;
  }

  async invalidate(k: CacheKey): Promise<void> {
    await rm(this.entryFile(this.keyOf(k)), { force: true });
  }

  /** Drops expired entries (and anything that is not an entry), then the least recently used until it fits. */
  async evict(): Promise<void> {
    const names = await readdir(this.opts.dir).catch(() => [] as string[]);
    const entries: Array<{ file: string; used: number; bytes: number }> = [];
    for (const name of names) {
      const file = path.join(this.opts.dir, name);
      const st = await stat(file).catch(() => undefined);
      if (!st) continue;
      const isEntry = /^[0-9a-f]{40}\.state$/.test(name) && st.isFile();
      const staleTmp = /\.tmp-/.test(name) && this.now() - st.mtimeMs > 3600_000;
      // Entries of the earlier layout (copied directories) and abandoned temporaries go.
      if (
        (!isEntry && (st.isDirectory() || staleTmp)) ||
        (isEntry && this.now() - st.mtimeMs > this.opts.ttlSecs * 1000)
      ) {
        await rm(file, { recursive: true, force: true });
        continue;
      }
      if (isEntry) entries.push({ file, used: st.mtimeMs, bytes: st.size });
    }
    entries.sort((a, b) => b.used - a.used);
    let total = 0;
    for (const e of entries) {
      total += e.bytes;
      if (total > this.opts.maxBytes) await rm(e.file, { force: true });
    }
  }

  /** Total bytes held (for tests and diagnostics). */
  async bytes(): Promise<number> {
    let n = 0;
    for (const name of await readdir(this.opts.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{40}\.state$/.test(name)) continue;
      n += (await stat(path.join(this.opts.dir, name)).catch(() => undefined))?.size ?? 0;
    }
    return n;
  }
}
