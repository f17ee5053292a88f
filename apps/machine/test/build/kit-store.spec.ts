import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realIdfStore } from '@aegis/testkit/idf-store';
import { ensureIdfStore, KitMissingError } from '../../../../scripts/idf-store.mjs';
import { inventory, loadStore, type Store } from '../../src/store/store.js';

let storeRoot: string;
let store: Store;
const scratch: string[] = [];

beforeAll(async () => {
  storeRoot = realIdfStore();
  store = await loadStore(storeRoot);
}, 300_000);
afterAll(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

describe('the store provisioned offline from the ESP-IDF kit', () => {
  it('lists ESP-IDF 5.1.6 as the default with its real targets and checksummed tools', () => {
    expect(store.manifest.versions).toHaveLength(1);
    const v = store.manifest.versions[0];
    expect(v).toMatchObject({ version: '5.1.6', default: true });
    expect(v.export_script).toBe('idf/5.1.6/export.sh');
    expect([...v.targets].sort()).toEqual(['esp32', 'esp32c3']);
    const names = v.tools.map((t) => t.name);
    for (const tool of [
      'tools/idf.py',
      'export.sh',
      'riscv32-esp-elf-gcc',
      'riscv32-esp-elf-addr2line',
      'xtensa-esp32-elf-gcc',
      'xtensa-esp32-elf-addr2line',
      'esptool.py',
    ])
      expect(names).toContain(tool);
    for (const t of v.tools) expect(t.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(inventory(store).builds).toEqual(
      expect.arrayContaining([
        { idf_version: '5.1.6', target: 'esp32c3' },
        { idf_version: '5.1.6', target: 'esp32' },
      ]),
    );
  });

  it('refuses a store whose tool does not match its checksum, naming the file and what to do', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aegis-kit-tamper-'));
    scratch.push(dir);
    await symlink(path.join(storeRoot, 'idf'), path.join(dir, 'idf'));
    const manifest = JSON.parse(await readFile(path.join(storeRoot, 'manifest.json'), 'utf8'));
    const gcc = manifest.versions[0].tools.find((t: { name: string }) => t.name === 'riscv32-esp-elf-gcc');
    gcc.sha256 = '0'.repeat(64);
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await expect(loadStore(dir)).rejects.toMatchObject({
      code: 'store_corrupt',
      message: expect.stringMatching(/Checksum mismatch .*riscv32-esp-elf-gcc.*re-provision IDF 5\.1\.6/),
    });
  });

  it('works read-only at another mount path for an unprivileged user (as inside the sandbox)', () => {
    // The original path is hidden, the store appears only read-only at /tmp/moved-store, and the user is nobody.
    const moved = '/tmp/moved-store';
    const script =
      `. ${moved}/idf/5.1.6/export.sh && idf.py --version && riscv32-esp-elf-gcc --version | head -1 && ` +
      `xtensa-esp32-elf-gcc --version | head -1 && esptool.py version | tail -1 && ` +
      `touch ${moved}/x 2>/dev/null || echo read-only`;
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'bwrap',
        '--unshare-user',
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--tmpfs',
        '/tmp',
        '--tmpfs',
        path.dirname(storeRoot),
        '--ro-bind',
        storeRoot,
        moved,
        '--setenv',
        'HOME',
        '/tmp',
        'bash',
        '-c',
        script,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).not.toMatch(/No such file|Permission denied/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ESP-IDF v5\.1\.6/);
    expect(r.stdout).toMatch(/riscv64-unknown-elf-gcc .*12\.2/); // Debian's compiler behind the kit's riscv32-esp-elf wrapper
    expect(r.stdout).toMatch(/xtensa-esp32-elf-gcc .*12\.2/);
    expect(r.stdout).toMatch(/4\.8\.1/);
    expect(r.stdout).toMatch(/read-only/);
  }, 120_000);

  it('fails with what to do when there is no kit (never a silent skip)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aegis-nokit-'));
    scratch.push(dir);
    const before = process.env.AEGIS_IDF_KIT;
    process.env.AEGIS_IDF_KIT = path.join(dir, 'no-kit-here');
    try {
      expect(() => ensureIdfStore(path.join(dir, 'store'), { quiet: true })).toThrow(KitMissingError);
      expect(() => ensureIdfStore(path.join(dir, 'store'), { quiet: true })).toThrow(
        /No ESP-IDF kit at .*no-kit-here\. Set AEGIS_IDF_KIT/,
      );
    } finally {
      if (before === undefined) delete process.env.AEGIS_IDF_KIT;
      else process.env.AEGIS_IDF_KIT = before;
    }
  });
});
