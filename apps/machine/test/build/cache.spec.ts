import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, lstat, readlink, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildCache, type CacheKey } from '../../src/build/build-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aegis-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = (project: string, target = 'esp32c3'): CacheKey => ({ userId: 'u', project, target, idfVersion: '5.3' });

async function project(name: string, bytes: number): Promise<string> {
  const p = path.join(dir, 'projects', name);
  await mkdir(path.join(p, 'build'), { recursive: true });
  await writeFile(path.join(p, 'build', 'blob'), Buffer.alloc(bytes, 7));
  await writeFile(path.join(p, 'sdkconfig'), `CONFIG_IDF_TARGET="esp32c3"\n# ${name}\n`);
  return p;
}

describe('build cache', () => {
  it('restores build/ and sdkconfig into a project that has none, keyed by user, project, target and IDF', async () => {
    let t = 1_000_000;
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600, now: () => t });
    await cache.save(key('a'), await project('a', 100));
    const fresh = path.join(dir, 'fresh');
    await mkdir(fresh);
    expect(await cache.restore(key('a', 'esp32c6'), fresh)).toBe(false);
    expect(await cache.restore({ ...key('a'), userId: 'other' }, fresh)).toBe(false);
    expect(await cache.restore(key('a'), fresh)).toBe(true);
    expect((await readFile(path.join(fresh, 'build', 'blob'))).length).toBe(100);
    expect(await readFile(path.join(fresh, 'sdkconfig'), 'utf8')).toContain('# a');
    t += 10;
    // the upload's own build directory wins over the cache
    expect(await cache.restore(key('a'), fresh)).toBe(false);
  });

  it('expires entries after the TTL', async () => {
    let t = Date.now();
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 60, now: () => t });
    await cache.save(key('a'), await project('a', 10));
    t += 61_000;
    const fresh = path.join(dir, 'fresh');
    await mkdir(fresh);
    expect(await cache.restore(key('a'), fresh)).toBe(false);
  });

  it('keeps the total under the size cap by dropping the least recently used entries', async () => {
    let t = Date.now();
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 2500, ttlSecs: 3600, now: () => t });
    for (const name of ['a', 'b', 'c']) {
      t += 1000;
      await cache.save(key(name), await project(name, 1000));
    }
    expect(await cache.bytes()).toBeLessThanOrEqual(2500);
    const probe = async (name: string): Promise<boolean> => {
      const p = path.join(dir, `probe-${name}-${t}`);
      await mkdir(p);
      return cache.restore(key(name), p);
    };
    expect(await probe('a')).toBe(false);
    expect(await probe('b')).toBe(true);
    expect(await probe('c')).toBe(true);
  });

  it('never follows symlinks: a build/ that is a link is not saved, links inside are copied as links', async () => {
    const cache = new BuildCache({ dir: path.join(dir, 'c'), maxBytes: 1 << 20, ttlSecs: 3600 });
    const evil = path.join(dir, 'projects', 'evil');
    await mkdir(evil, { recursive: true });
    await symlink('/etc', path.join(evil, 'build'));
    await cache.save(key('evil'), evil);
    expect(await cache.bytes()).toBe(0);

    const p = await project('links', 10);
    await symlink('/etc/hostname', path.join(p, 'build', 'host'));
    await cache.save(key('links'), p);
    const fresh = path.join(dir, 'fresh');
    await mkdir(fresh);
    expect(await cache.restore(key('links'), fresh)).toBe(true);
    expect((await lstat(path.join(fresh, 'build', 'host'))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(fresh, 'build', 'host'))).toBe('/etc/hostname');
  });

  it('makes upload mtimes honest for ninja: unchanged files get the cached mtime, changed ones "now"', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let t = t0;
    const cache = new BuildCache({
      dir: path.join(dir, 'c'),
      maxBytes: 1 << 20,
      ttlSecs: 3600 * 24 * 365,
      now: () => t,
    });
    const p = await project('m', 10);
    await mkdir(path.join(p, 'main'));
    await writeFile(path.join(p, 'main', 'same.c'), 'int a;\n');
    await writeFile(path.join(p, 'main', 'changed.c'), 'int b;\n');
    const built = new Date(t0 - 60_000);
    for (const f of ['same.c', 'changed.c']) await utimes(path.join(p, 'main', f), built, built);
    await cache.save(key('m'), p);

    // the next upload: same.c looks brand new, changed.c has new content but an OLD mtime
    const fresh = path.join(dir, 'fresh-m');
    await mkdir(path.join(fresh, 'main'), { recursive: true });
    await writeFile(path.join(fresh, 'main', 'same.c'), 'int a;\n');
    await writeFile(path.join(fresh, 'main', 'changed.c'), 'int b = 2;\n');
    const old = new Date(t0 - 3600_000);
    await utimes(path.join(fresh, 'main', 'changed.c'), old, old);
    t = t0 + 5000;
    expect(await cache.restore(key('m'), fresh)).toBe(true);
    expect((await stat(path.join(fresh, 'main', 'same.c'))).mtimeMs).toBe(built.getTime());
    expect((await stat(path.join(fresh, 'main', 'changed.c'))).mtimeMs).toBe(t0 + 5000);
  });
});
