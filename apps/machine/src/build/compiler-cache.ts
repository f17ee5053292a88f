import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rename, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { assertReachable } from '../sandbox/reachable.js';

const run = promisify(execFile);

/** Who shares one compiler cache: each user alone (default), or every user of the machine (one trusted team). */
export type CompilerCacheScope = 'user' | 'machine';

export interface CompilerCacheOptions {
  /** Where the caches live (machine-made, 0711): `<dir>/<key>/` per cache, `<dir>/<key>.used` its last use. */
  dir: string;
  scope: CompilerCacheScope;
  /** ccache's own size cap per cache (it evicts least recently used objects), MiB. */
  maxMb: number;
  /** Group every build belongs to while it runs, and that owns the cache directories (root machines only). */
  gid: number;
  /** A cache unused this long is deleted (ms). */
  retentionMs: number;
  /** False for `--sandbox=none`: builds then use the directory at its host path (no bind, no group). */
  sandboxed?: boolean;
  log?: { info(msg: string): void; warn(msg: string): void };
  now?: () => number;
}

/** What a build adds to its sandbox to use its cache: one bind, ccache's settings, the cache group. */
export interface CompilerCacheMount {
  binds: Array<{ from: string; to: string }>;
  env: Record<string, string>;
  groups: number[];
}

/** Where the cache appears inside the sandbox. */
export const SANDBOX_CCACHE = '/ccache';

const KEY = /^[0-9a-f]{32}$|^machine$/;
/** A cache is used by builds for hours at most: one touched within a day is never deleted under a build. */
const MIN_RETENTION_MS = 24 * 3600_000;

/**
 * ccache for ESP-IDF builds, kept across jobs: a clean build compiles only what no earlier build of the same cache
 * compiled (ESP-IDF's ~1000 component files, for each target and sdkconfig). By default each user has a cache of
 * their own, so one user's objects never reach another user's firmware.
 *
 * The directories hold what builds wrote, so the machine never works inside them with its own rights (the privilege
 * rule): it makes `<dir>/<key>` (root:gid, setgid, 2770) in its own parent, binds it into the job's sandbox, and lets
 * the build's uid, which joins the group for the job, read and write there (CCACHE_UMASK=007 keeps every entry
 * group-writable for the next job's uid). Its last use is a machine-owned file beside it. Deleting an unused cache
 * is a rename in the machine's own directory, then `rm -rf` as nobody in the cache group.
 */
export class CompilerCache {
  private readonly isRoot = process.getuid?.() === 0;
  private readonly now: () => number;

  constructor(private readonly o: CompilerCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The cache directory name of a user: one per user, or one for the whole machine. */
  keyOf(userId: string): string {
    if (this.o.scope === 'machine') return 'machine';
    return createHash('sha256').update(`aegis-ccache\0${userId}`).digest('hex').slice(0, 32);
  }

  /**
   * Makes (once) and returns what a build of `userId` binds and sets to use its cache. `workspaceDir` is the job's
   * workspace on the host, which an unsandboxed build sees at its own path.
   */
  async mountFor(userId: string, workspaceDir: string): Promise<CompilerCacheMount> {
    const key = this.keyOf(userId);
    await mkdir(this.o.dir, { recursive: true, mode: 0o711 });
    await chmod(this.o.dir, 0o711);
    // bubblewrap binds it as the build's uid: every directory above must be searchable by others.
    if (this.isRoot && this.o.sandboxed !== false) await assertReachable(this.o.dir, -1, 'compiler cache directory');
    const dir = path.join(this.o.dir, key);
    const made = await mkdir(dir, { mode: 0o700 })
      .then(() => true)
      .catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') return false;
        throw e;
      });
    if (made && this.isRoot) {
      // Set on the fresh, still empty directory only: nothing a build wrote is ever chowned or chmodded.
      await chown(dir, 0, this.o.gid);
      await chmod(dir, 0o2770);
    }
    const marker = `${dir}.used`;
    const t = new Date(this.now());
    await utimes(marker, t, t).catch(() => writeFile(marker, ''));
    const sandboxed = this.o.sandboxed !== false;
    return {
      binds: sandboxed ? [{ from: dir, to: SANDBOX_CCACHE }] : [],
      env: {
        IDF_CCACHE_ENABLE: '1',
        CCACHE_DIR: sandboxed ? SANDBOX_CCACHE : dir,
        CCACHE_UMASK: '007',
        CCACHE_MAXSIZE: `${this.o.maxMb}M`,
        // Paths below the workspace are hashed relative to it (every sandboxed job builds at /ws; an unsandboxed
        // one at its own host path), and the build directory is not hashed: jobs share what they compiled.
        CCACHE_BASEDIR: sandboxed ? '/ws' : workspaceDir,
        CCACHE_NOHASHDIR: '1',
      },
      groups: sandboxed && this.isRoot ? [this.o.gid] : [],
    };
  }

  /** Deletes the caches unused for longer than the retention time. Returns their keys. */
  async sweep(): Promise<string[]> {
    const names = await readdir(this.o.dir).catch(() => [] as string[]);
    const gone: string[] = [];
    for (const name of names) {
      if (name.startsWith('.trash-')) {
        await this.removeTree(path.join(this.o.dir, name));
        continue;
      }
      if (!name.endsWith('.used')) continue;
      const key = name.slice(0, -'.used'.length);
      if (!KEY.test(key)) continue;
      const used = await stat(path.join(this.o.dir, name)).catch(() => undefined);
      if (!used || this.now() - used.mtimeMs < Math.max(this.o.retentionMs, MIN_RETENTION_MS)) continue;
      const trash = path.join(this.o.dir, `.trash-${key}-${this.now()}`);
      const moved = await rename(path.join(this.o.dir, key), trash)
        .then(() => true)
        .catch(() => false);
      await rename(path.join(this.o.dir, name), `${trash}.used`).catch(() => undefined);
      if (moved) await this.removeTree(trash);
      gone.push(key);
    }
    if (gone.length) this.o.log?.info(`compiler cache: deleted ${gone.length} cache(s) unused for the retention time`);
    return gone;
  }

  /** `rm -rf` of a cache moved aside, as nobody in the cache group (root), or as ourselves (nothing to gain). */
  private async removeTree(dir: string): Promise<void> {
    const rm = ['rm', '-rf', '--one-file-system', '--', dir];
    const [file, args] = this.isRoot
      ? [
          'setpriv',
          [
            '--reuid=65534',
            `--regid=${this.o.gid}`,
            `--groups=${this.o.gid}`,
            '--inh-caps=-all',
            '--bounding-set=-all',
            ...rm,
          ],
        ]
      : [rm[0]!, rm.slice(1)];
    await run(file, args).catch(() => undefined);
    // The emptied directory itself sits in our own parent: removing an empty directory follows nothing.
    await rmdir(dir).catch((e: Error) => this.o.log?.warn(`compiler cache: could not delete ${dir}: ${e.message}`));
    await unlink(`${dir}.used`).catch(() => undefined);
  }
}
