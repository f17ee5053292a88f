import { cp, mkdtemp, readFile, rm, unlink, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestStore } from '../../../../scripts/make-test-store.mjs';
import { inventory, loadStore } from '../../src/store/store.js';
import { createBuildBackend } from '../../src/build/index.js';
import { StoreManifest } from '@aegis/protocol';

let root: string;
let pristine: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aegis-store-'));
  await chmod(root, 0o755);
  pristine = path.join(root, 'pristine');
  await makeTestStore(pristine);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function copyStore(): Promise<string> {
  const dir = path.join(root, `copy-${++n}`);
  await cp(pristine, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

describe('store', () => {
  it('make-test-store writes a valid manifest naming the test toolchain', async () => {
    const m = StoreManifest.parse(JSON.parse(await readFile(path.join(pristine, 'manifest.json'), 'utf8')));
    expect(m.versions).toHaveLength(1);
    expect(m.versions[0]).toMatchObject({ version: 'test-1.0', test_toolchain: true, default: true });
    const names = m.versions[0].tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['tools/idf.py', 'riscv64-unknown-elf-gcc', 'riscv64-unknown-elf-addr2line']),
    );
    const store = await loadStore(pristine);
    expect(inventory(store)).toEqual({
      idfVersions: ['test-1.0'],
      targets: ['esp32c3', 'esp32c2', 'esp32c6', 'esp32h2'],
    });
  });

  it('a missing store says where it looked and what to do', async () => {
    const where = path.join(root, 'nothing-here');
    await expect(loadStore(where)).rejects.toMatchObject({
      code: 'store_missing',
      message: expect.stringMatching(
        new RegExp(`cannot find store at ${where}.*provision-store\\.sh.*make-test-store`),
      ),
    });
  });

  it('a missing tool is named', async () => {
    const dir = await copyStore();
    await unlink(path.join(dir, 'idf/test-1.0/tools/idf.mjs'));
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringContaining('idf/test-1.0/tools/idf.mjs'),
    });
  });

  it('a checksum mismatch names the file', async () => {
    const dir = await copyStore();
    const file = path.join(dir, 'idf/test-1.0/tools/idf.py');
    await writeFile(file, (await readFile(file, 'utf8')) + '\n# tampered\n');
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringMatching(/Checksum mismatch for .*idf\/test-1\.0\/tools\/idf\.py/),
    });
  });

  it('a manifest path that leaves the store is refused', async () => {
    const dir = await copyStore();
    const mf = path.join(dir, 'manifest.json');
    const m = JSON.parse(await readFile(mf, 'utf8'));
    m.versions[0].tools[0].path = '../../etc/passwd';
    await writeFile(mf, JSON.stringify(m));
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringContaining('outside the store'),
    });
  });

  it('an invalid manifest is a clear error', async () => {
    const dir = await copyStore();
    await writeFile(path.join(dir, 'manifest.json'), '{"v":1,"versions":[]}');
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringContaining('manifest.json is invalid'),
    });
  });

  it('the backend reports a corrupt store from inventory() and fails builds with the same error', async () => {
    const dir = await copyStore();
    await unlink(path.join(dir, 'idf/test-1.0/tools/bin/riscv64-unknown-elf-gcc'));
    const backend = await createBuildBackend({ storeRoot: dir, sandbox: 'none', workDir: path.join(root, 'work') });
    await expect(backend.inventory()).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringContaining('riscv64-unknown-elf-gcc'),
    });
    const out = await backend.build({
      jobId: 'j',
      userId: 'u',
      workspaceDir: path.join(root, 'ws'),
      timeoutSecs: 10,
      cpuCores: 1,
      memoryMb: 512,
      signal: new AbortController().signal,
      onLine: () => undefined,
    });
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('store_corrupt');
  });

  it('make-test-store is idempotent and keeps other versions in the manifest', async () => {
    const dir = await copyStore();
    await makeTestStore(dir, { version: 'test-2.0' });
    await makeTestStore(dir, { version: 'test-2.0' });
    const store = await loadStore(dir);
    expect(store.manifest.versions.map((v) => [v.version, v.default])).toEqual([
      ['test-1.0', true],
      ['test-2.0', false],
    ]);
  });
});
