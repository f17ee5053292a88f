import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applySourceStamps, stampSources, type SourceStamps } from './source-stamps.js';

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

/** Files of a project directory that make up its incremental build state. */
const ENTRIES = ['build', 'sdkconfig'];
/** Content hashes and mtimes of the sources the cached build saw (see source-stamps.ts). */
const STAMPS = 'source-stamps.json';

async function treeBytes(p: string): Promise<number> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(p)) n += await treeBytes(path.join(p, e));
  return n;
}

/**
 * Incremental build state per (user, project, target, IDF version): the `build/` directory and `sdkconfig`,
 * copied out after a successful build and back into the next job's project. Bounded by size (least recently
 * used entries go first) and by age. Symlinks are copied as links, never followed, and a project whose
 * `build` is not a real directory is neither restored into nor saved from.
 */
export class BuildCache {
  private readonly now: () => number;

  constructor(private readonly opts: BuildCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  keyOf(k: CacheKey): string {
    return createHash('sha256')
      .update(JSON.stringify([k.userId, k.project, k.target, k.idfVersion]))
      .digest('hex');
  }

  private entryDir(key: string): string {
    return path.join(this.opts.dir, key.slice(0, 40));
  }

  private async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    // Only the machine reads the cache; a sandbox never sees it.
    await chmod(this.opts.dir, 0o700);
  }

  /** Copies the cached state into `projectDir` when the project does not bring its own. Returns true on a hit. */
  async restore(k: CacheKey, projectDir: string): Promise<boolean> {
    const dir = this.entryDir(this.keyOf(k));
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) return false;
    if (this.now() - st.mtimeMs > this.opts.ttlSecs * 1000) {
      await rm(dir, { recursive: true, force: true });
      return false;
    }
    if (await lstat(path.join(projectDir, 'build')).catch(() => undefined)) return false;
    for (const name of ENTRIES) {
      const from = path.join(dir, name);
      const to = path.join(projectDir, name);
      if (!(await lstat(from).catch(() => undefined))) continue;
      if (await lstat(to).catch(() => undefined)) continue; // the project's own sdkconfig wins
      await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    }
    const stamps = await readFile(path.join(dir, STAMPS), 'utf8').catch(() => undefined);
    if (stamps) await applySourceStamps(projectDir, JSON.parse(stamps) as SourceStamps, this.now());
    const t = new Date(this.now());
    await utimes(dir, t, t);
    return true;
  }

  /** Saves the project's build state (replacing the entry atomically), then enforces size and age limits. */
  async save(k: CacheKey, projectDir: string): Promise<void> {
    await this.init();
    const build = await lstat(path.join(projectDir, 'build')).catch(() => undefined);
    if (!build?.isDirectory()) return;
    const dir = this.entryDir(this.keyOf(k));
    const tmp = `${dir}.tmp-${process.pid}-${Math.floor(this.now())}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { mode: 0o700 });
    for (const name of ENTRIES) {
      const from = path.join(projectDir, name);
      const st = await lstat(from).catch(() => undefined);
      if (!st || st.isSymbolicLink()) continue;
      await cp(from, path.join(tmp, name), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    }
    await writeFile(path.join(tmp, STAMPS), JSON.stringify(await stampSources(projectDir)));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    const t = new Date(this.now());
    await utimes(dir, t, t);
    await this.evict();
  }

  async invalidate(k: CacheKey): Promise<void> {
    await rm(this.entryDir(this.keyOf(k)), { recursive: true, force: true });
  }

  /** Drops expired entries, then the least recently used ones until the cache fits `maxBytes`. */
  async evict(): Promise<void> {
    const names = await readdir(this.opts.dir).catch(() => [] as string[]);
    const entries: Array<{ dir: string; used: number; bytes: number }> = [];
    for (const name of names) {
      if (!/^[0-9a-f]{40}$/.test(name)) continue;
      const dir = path.join(this.opts.dir, name);
      const st = await stat(dir).catch(() => undefined);
      if (!st) continue;
      if (this.now() - st.mtimeMs > this.opts.ttlSecs * 1000) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      entries.push({ dir, used: st.mtimeMs, bytes: await treeBytes(dir) });
    }
    entries.sort((a, b) => b.used - a.used);
    let total = 0;
    for (const e of entries) {
      total += e.bytes;
      if (total > this.opts.maxBytes) await rm(e.dir, { recursive: true, force: true });
    }
  }

  /** Total bytes held (for tests and diagnostics). */
  async bytes(): Promise<number> {
    return treeBytes(this.opts.dir);
  }
}
