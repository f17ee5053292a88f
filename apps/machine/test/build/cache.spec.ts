import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, lstat, readlink, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildCache, type CacheKey } from '../../src/build/build-cache.js';
import { workspaceOpsOf } from '../../src/workspace/index.js';

// The cache stores what the workspace owner packs and hands it back to be unpacked (WorkspaceOps); here the
// unconfined operations stand in for the sandboxed ones (the sandboxed path is in test/workspace/).
const ops = workspaceOpsOf({});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aegis-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = (project: string, target = 'esp32c3'): CacheKey => ({ userId: 'u', project, target, idfVersion: '5.3' });

/** A workspace (`<ws>/project`) with a build directory of `bytes` bytes. */
async function workspace(name: string, bytes: number): Promise<string> {
  const ws = path.join(dir, 'jobs', name, 'ws');
  const p = path.join(ws, 'project');
  await mkdir(path.join(p, 'build'), { recursive: true });
  await writeFile(path.join(p, 'build', 'blob'), Buffer.alloc(bytes, 7));
  await writeFile(path.join(p, 'sdkconfig'), `CONFIG_IDF_TARGET="esp32c3"\n# ${name}\n`);
  return ws;
}
async function emptyWorkspace(name: string): Promise<string> {
  const ws = path.join(dir, 'jobs', name, 'ws');
  await mkdir(path.join(ws, 'project'), { recursive: true });
  return ws;
}
const save = (c: BuildCache, k: CacheKey, ws: string) => c.save(k, (dest) => ops.packState(ws, dest));
const restore = (c: BuildCache, k: CacheKey, ws: string) =>
  c.restore(k, (state) => ops.restoreState(ws, state, Date.now()));

describe('build cache', () => {
  it('restores build/ and sdkconfig into a project that has none, keyed by user, project, target and IDF', async () => {
    let t = 1_000_000;
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600, now: () => t });
    await save(cache, key('a'), await workspace('a', 100));
    const fresh = await emptyWorkspace('fresh');
    expect(await restore(cache, key('a', 'esp32c6'), fresh)).toBe(false);
    expect(await restore(cache, { ...key('a'), userId: 'other' }, fresh)).toBe(false);
    expect(await restore(cache, key('a'), fresh)).toBe(true);
    expect((await readFile(path.join(fresh, 'project', 'build', 'blob'))).length).toBe(100);
    expect(await readFile(path.join(fresh, 'project', 'sdkconfig'), 'utf8')).toContain('# a');
    t += 10;
    // the upload's own build directory wins over the cache
    expect(await restore(cache, key('a'), fresh)).toBe(false);
  });

  it('a restore reads the restored settings files in the same helper run (the cached sdkconfig names its target)', async () => {
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600 });
    await save(cache, key('s'), await workspace('s', 10));
    const fresh = await emptyWorkspace('fresh-s');
    await writeFile(path.join(fresh, 'project', 'CMakeLists.txt'), 'project(s)\n');
    let read: Awaited<ReturnType<typeof ops.restoreStateAndRead>> | undefined;
    const restored = await cache.restore(key('s'), async (state) => {
      read = await ops.restoreStateAndRead(fresh, state, Date.now(), ['CMakeLists.txt', 'sdkconfig', '.espctl.toml']);
      return read.restored;
    });
    expect(restored).toBe(true);
    expect(read?.files?.project).toBe('dir');
    expect(read?.files?.files.sdkconfig).toEqual({ kind: 'file', text: 'CONFIG_IDF_TARGET="esp32c3"\n# s\n' });
    expect(read?.files?.files['CMakeLists.txt']).toEqual({ kind: 'file', text: 'project(s)\n' });
    expect(read?.files?.files['.espctl.toml']).toBeNull();
    // nothing restored (the project brings its own build/): nothing read either
    const again = await cache.restore(key('s'), async (state) => {
      read = await ops.restoreStateAndRead(fresh, state, Date.now(), ['sdkconfig']);
      return read.restored;
    });
    expect(again).toBe(false);
    expect(read?.files).toBeUndefined();
  });

  it('a restore waits for a save of the same entry still in flight (saves finish after their build succeeded)', async () => {
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600 });
    const ws = await workspace('slow', 50);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const saving = cache.save(key('a'), async (dest) => {
      await gate; // the owner's helper is still packing
      return ops.packState(ws, dest);
    });
    const fresh = await emptyWorkspace('next-job');
    let restored: boolean | undefined;
    const restoring = restore(cache, key('a'), fresh).then((r) => (restored = r));
    await new Promise((r) => setTimeout(r, 50));
    expect(restored).toBeUndefined(); // not "no entry": it waits
    release();
    expect(await saving).toBe(true);
    await restoring;
    expect(restored).toBe(true);
    expect((await readFile(path.join(fresh, 'project', 'build', 'blob'))).length).toBe(50);
  });

  it('expires entries after the TTL', async () => {
    let t = Date.now();
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 60, now: () => t });
    await save(cache, key('a'), await workspace('a', 10));
    t += 61_000;
    expect(await restore(cache, key('a'), await emptyWorkspace('fresh'))).toBe(false);
  });

  it('keeps the total under the size cap by dropping the least recently used entries', async () => {
    let t = Date.now();
    // One entry's size (the packed state has headers besides the 1000-byte file); the cap holds two and a half.
    const probeCache = new BuildCache({ dir: path.join(dir, 'one'), maxBytes: 1 << 20, ttlSecs: 3600 });
    await save(probeCache, key('x'), await workspace('x', 1000));
    const cap = Math.floor((await probeCache.bytes()) * 2.5);
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: cap, ttlSecs: 3600, now: () => t });
    for (const name of ['a', 'b', 'c']) {
      t += 1000;
      await save(cache, key(name), await workspace(name, 1000));
    }
    expect(await cache.bytes()).toBeLessThanOrEqual(cap);
    const probe = async (name: string): Promise<boolean> =>
      restore(cache, key(name), await emptyWorkspace(`probe-${name}-${t}`));
    expect(await probe('a')).toBe(false);
    expect(await probe('b')).toBe(true);
    expect(await probe('c')).toBe(true);
  });

  it('never follows symlinks: a build/ that is a link is not saved, links inside are kept as links', async () => {
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600 });
    const evil = await emptyWorkspace('evil');
    await symlink('/etc', path.join(evil, 'project', 'build'));
    expect(await save(cache, key('evil'), evil)).toBe(false);
    expect(await cache.bytes()).toBe(0);

    const p = await workspace('links', 10);
    await symlink('/etc/hostname', path.join(p, 'project', 'build', 'host'));
    await save(cache, key('links'), p);
    const fresh = await emptyWorkspace('fresh');
    expect(await restore(cache, key('links'), fresh)).toBe(true);
    expect((await lstat(path.join(fresh, 'project', 'build', 'host'))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(fresh, 'project', 'build', 'host'))).toBe('/etc/hostname');
  });

  it('makes upload mtimes honest for ninja: unchanged files get the cached mtime, changed ones "now"', async () => {
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600 * 24 * 365 });
    const ws = await workspace('m', 10);
    const p = path.join(ws, 'project');
    await mkdir(path.join(p, 'main'));
    await writeFile(path.join(p, 'main', 'same.c'), 'int a;\n');
    await writeFile(path.join(p, 'main', 'changed.c'), 'int b;\n');
    const built = new Date(Date.now() - 60_000);
    for (const f of ['same.c', 'changed.c']) await utimes(path.join(p, 'main', f), built, built);
    await save(cache, key('m'), ws);

    // the next upload: same.c looks brand new, changed.c has new content but an OLD mtime
    const fresh = await emptyWorkspace('fresh-m');
    const f = path.join(fresh, 'project');
    await mkdir(path.join(f, 'main'), { recursive: true });
    await writeFile(path.join(f, 'main', 'same.c'), 'int a;\n');
    await writeFile(path.join(f, 'main', 'changed.c'), 'int b = 2;\n');
    const old = new Date(Date.now() - 3600_000);
    await utimes(path.join(f, 'main', 'changed.c'), old, old);
    const now = Date.now() + 5000;
    expect(await cache.restore(key('m'), (state) => ops.restoreState(fresh, state, now))).toBe(true);
    expect((await stat(path.join(f, 'main', 'same.c'))).mtimeMs).toBeCloseTo(built.getTime(), 0);
    expect((await stat(path.join(f, 'main', 'changed.c'))).mtimeMs).toBeCloseTo(now, 0);
  });
});
