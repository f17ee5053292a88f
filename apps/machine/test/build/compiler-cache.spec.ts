import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuildBackend, type BuildBackendWithStore } from '../../src/build/index.js';
import { CompilerCache } from '../../src/build/compiler-cache.js';
import { fakeStore, request, workspace } from './helpers.js';

/**
 * The compiler cache in the real bubblewrap sandbox, with a stand-in idf.py that shows what a build sees of its
 * cache: each user's builds share theirs across jobs (each job another uid), never another user's, and deleting an
 * unused cache never follows what a build left there.
 */
const isRoot = process.getuid?.() === 0;
const GID = 61999;
let root: string;
let cacheDir: string;
let backend: BuildBackendWithStore;
let canaryFile: string;
let canaryDir: string;
const warnings: string[] = [];

// Lists the cache, then leaves a file of this job (and, on request, a symlink to a host path) there, with the
// umask ccache itself applies.
const IDF_PY = `#!/bin/sh
umask "$CCACHE_UMASK"
echo "enable=$IDF_CCACHE_ENABLE dir=$CCACHE_DIR umask=$CCACHE_UMASK"
for f in "$CCACHE_DIR"/*; do [ -e "$f" ] || [ -L "$f" ] && echo "seen: $(basename "$f")"; done
mark=$(cat main/mark)
echo "$mark" > "$CCACHE_DIR/$mark" && echo "wrote $mark" || echo "write failed"
if [ -f main/link-to ]; then ln -s "$(cat main/link-to)" "$CCACHE_DIR/link-$mark" && mkdir -p "$CCACHE_DIR/sub" && ln -s "$(cat main/link-to)" "$CCACHE_DIR/sub/deep"; fi
exit 1
`;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aegis-ccache-'));
  await chmod(root, 0o755);
  const store = await fakeStore(path.join(root, 'store'), { idfPy: IDF_PY });
  cacheDir = path.join(root, 'ccache');
  canaryFile = path.join(root, 'canary.txt');
  canaryDir = path.join(root, 'canary-dir');
  await writeFile(canaryFile, 'host secret');
  await mkdir(canaryDir);
  await writeFile(path.join(canaryDir, 'keep.txt'), 'host secret');
  backend = await createBuildBackend({
    storeRoot: store.root,
    sandbox: 'bwrap',
    workDir: path.join(root, 'state'),
    compilerCache: { scope: 'user', dir: cacheDir, gid: GID, retentionMs: 3600_000 },
    log: { info: () => undefined, warn: (m) => void warnings.push(m) },
  });
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function buildAs(userId: string, mark: string, extra: Record<string, string> = {}): Promise<string> {
  const ws = await workspace({ root }, { 'CMakeLists.txt': 'project(app)\n', 'main/mark': mark, ...extra });
  const { req, log } = request(ws, { userId, target: 'esp32c3' });
  await backend.build(req);
  return log.text();
}

describe('compiler cache', () => {
  it('each user keeps one cache across jobs and uids, and never sees another user’s', async () => {
    const a1 = await buildAs('alice', 'alice-1');
    expect(a1).toContain('enable=1 dir=/ccache umask=007');
    expect(a1).toContain('wrote alice-1');
    expect(a1).not.toContain('seen:');

    // Another job of the same user runs as another uid, and still reads and writes what the first left.
    const a2 = await buildAs('alice', 'alice-2');
    expect(a2).toContain('seen: alice-1');
    expect(a2).toContain('wrote alice-2');

    const b1 = await buildAs('bob', 'bob-1');
    expect(b1).toContain('wrote bob-1');
    expect(b1).not.toMatch(/seen: alice/);

    const cache = new CompilerCache({ dir: cacheDir, scope: 'user', maxMb: 64, gid: GID, retentionMs: 1 });
    const aliceDir = path.join(cacheDir, cache.keyOf('alice'));
    expect((await readdir(aliceDir)).sort()).toEqual(['alice-1', 'alice-2']);
    if (isRoot) {
      // Made by the machine for the group; what builds wrote stays theirs and group-writable.
      const d = await stat(aliceDir);
      expect([d.uid, d.gid, d.mode & 0o7777]).toEqual([0, GID, 0o2770]);
      const f = await stat(path.join(aliceDir, 'alice-1'));
      expect(f.uid).not.toBe(0);
      expect([f.gid, f.mode & 0o070]).toEqual([GID, 0o060]);
    }
    expect((await stat(path.join(cacheDir))).mode & 0o777).toBe(0o711);
  });

  it('deletes a cache unused past the retention time, following none of the links a build left in it', async () => {
    await buildAs('mallory', 'mallory-1', { 'main/link-to': canaryDir });
    await buildAs('mallory', 'mallory-2', { 'main/link-to': canaryFile });
    const cache = new CompilerCache({
      dir: cacheDir,
      scope: 'user',
      maxMb: 64,
      gid: GID,
      retentionMs: 3600_000,
      log: { info: () => undefined, warn: (m) => void warnings.push(m) },
    });
    const key = cache.keyOf('mallory');
    expect((await lstat(path.join(cacheDir, key, 'link-mallory-1'))).isSymbolicLink()).toBe(true);

    // Recently used caches stay.
    expect(await cache.sweep()).toEqual([]);
    // Never within a day of its last use (a build may still run), whatever the retention time.
    const recent = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(cacheDir, `${key}.used`), recent, recent);
    expect(await cache.sweep()).toEqual([]);
    const old = new Date(Date.now() - 25 * 3600_000);
    await utimes(path.join(cacheDir, `${key}.used`), old, old);
    expect(await cache.sweep()).toEqual([key]);

    const left = await readdir(cacheDir);
    expect(left.filter((n) => n.includes(key))).toEqual([]);
    expect(left).toContain(cache.keyOf('alice'));
    expect(await readFile(canaryFile, 'utf8')).toBe('host secret');
    expect(await readdir(canaryDir)).toEqual(['keep.txt']);
    expect(warnings.filter((w) => w.includes('could not delete'))).toEqual([]);
  });

  it('one cache for every user of the machine when the operator asks for it', () => {
    const machine = new CompilerCache({ dir: cacheDir, scope: 'machine', maxMb: 64, gid: GID, retentionMs: 1 });
    expect(machine.keyOf('alice')).toBe(machine.keyOf('bob'));
    const perUser = new CompilerCache({ dir: cacheDir, scope: 'user', maxMb: 64, gid: GID, retentionMs: 1 });
    expect(perUser.keyOf('alice')).not.toBe(perUser.keyOf('bob'));
    expect(perUser.keyOf('alice')).toMatch(/^[0-9a-f]{32}$/);
  });
});
