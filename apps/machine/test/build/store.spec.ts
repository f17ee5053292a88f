import { cp, mkdtemp, readFile, rm, unlink, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeStore, idfStore, IDF_VERSION } from './helpers.js';
import { inventory, loadStore } from '../../src/store/store.js';
import { createBuildBackend } from '../../src/build/index.js';
import { StoreManifest } from '@aegis/protocol';

let root: string;
let pristine: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aegis-store-'));
  await chmod(root, 0o755);
  // Verification needs a manifest and files, no compiler: a tiny store copied per case (the real one is 450 MB).
  pristine = (await fakeStore(path.join(root, 'pristine'))).root;
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
  it('the real store (provisioned from the kit) names ESP-IDF 5.1.6 for esp32c3 and esp32, every tool verified', async () => {
    const real = idfStore();
    const m = StoreManifest.parse(JSON.parse(await readFile(path.join(real, 'manifest.json'), 'utf8')));
    expect(m.versions).toHaveLength(1);
    expect(m.versions[0]).toMatchObject({ version: IDF_VERSION, default: true });
    const names = m.versions[0].tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['tools/idf.py', 'export.sh', 'riscv32-esp-elf-gcc', 'riscv32-esp-elf-addr2line']),
    );
    expect(names.some((n) => n.startsWith('xtensa-esp32-elf-'))).toBe(true);
    // loadStore checks every listed tool's sha256
    const store = await loadStore(real);
    expect(inventory(store)).toMatchObject({ idfVersions: [IDF_VERSION], targets: ['esp32c3', 'esp32'] });
  }, 120_000);

  it('a missing store says where it looked and what to do', async () => {
    const where = path.join(root, 'nothing-here');
    await expect(loadStore(where)).rejects.toMatchObject({
      code: 'store_missing',
      message: expect.stringMatching(new RegExp(`cannot find store at ${where}.*provision-store\\.sh`)),
    });
  });

  it('a missing tool is named', async () => {
    const dir = await copyStore();
    await unlink(path.join(dir, 'idf/5.1.6/export.sh'));
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringContaining('idf/5.1.6/export.sh'),
    });
  });

  it('a checksum mismatch names the file', async () => {
    const dir = await copyStore();
    const file = path.join(dir, 'idf/5.1.6/esp-idf/tools/idf.py');
    await writeFile(file, (await readFile(file, 'utf8')) + '\n# tampered\n');
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringMatching(/Checksum mismatch for .*idf\/5\.1\.6\/esp-idf\/tools\/idf\.py/),
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
    await unlink(path.join(dir, 'idf/5.1.6/esp-idf/tools/idf.py'));
    const backend = await createBuildBackend({ storeRoot: dir, sandbox: 'none', workDir: path.join(root, 'work') });
    await expect(backend.inventory()).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringContaining('tools/idf.py'),
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
});
