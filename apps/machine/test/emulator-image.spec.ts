import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EmulatorRefusal,
  EmulatorSlots,
  chipOfMergedImage,
  findQemu,
  padImage,
  qemuArgs,
  qemuFlashBytes,
  readJobImage,
} from '../src/emulator/index.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'aegis-emu-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A merged image with a bootloader header for `chipId` at `at` (0xe9 magic, chip id at byte 12 of the header). */
function merged(at: number, chipId: number, length = 0x20000): Uint8Array {
  const img = new Uint8Array(length).fill(0xff);
  img[at] = 0xe9;
  img[at + 12] = chipId & 0xff;
  img[at + 13] = chipId >> 8;
  return img;
}

describe('emulator flash image', () => {
  it('picks the smallest QEMU flash size holding the image and the configured flash size', () => {
    expect(qemuFlashBytes(0x30000)).toBe(2 * MiB);
    expect(qemuFlashBytes(0x30000, '1MB')).toBe(2 * MiB);
    expect(qemuFlashBytes(0x30000, '4MB')).toBe(4 * MiB);
    expect(qemuFlashBytes(0x30000, 'detect')).toBe(2 * MiB);
    expect(qemuFlashBytes(3 * MiB, '2MB')).toBe(4 * MiB);
    expect(qemuFlashBytes(9 * MiB)).toBe(16 * MiB);
    expect(() => qemuFlashBytes(0x1000, '32MB')).toThrow(EmulatorRefusal);
    expect(() => qemuFlashBytes(17 * MiB)).toThrow(/at most 16 MiB/);
  });

  it('pads with erased flash and keeps the image bytes', () => {
    const img = new Uint8Array([1, 2, 3]);
    const out = padImage(img, 8);
    expect([...out]).toEqual([1, 2, 3, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(padImage(out, 8)).toBe(out);
  });

  it('tells the chip from the bootloader header at its offset', () => {
    expect(chipOfMergedImage(merged(0, 5))).toBe('esp32c3');
    expect(chipOfMergedImage(merged(0x1000, 0))).toBe('esp32');
    // An ESP32 id at 0x0 is not where an ESP32 bootloader lives.
    expect(chipOfMergedImage(merged(0, 0))).toBeUndefined();
    expect(chipOfMergedImage(new Uint8Array(100))).toBeUndefined();
  });

  it('reads the job image from the machine-owned artifacts, and refuses a job without a build', async () => {
    const job = tmp();
    const ws = path.join(job, 'ws');
    mkdirSync(ws);
    await expect(readJobImage(ws)).rejects.toMatchObject({ code: 'no_firmware' });
    const art = path.join(job, 'artifacts');
    mkdirSync(path.join(art, 'bundle'), { recursive: true });
    writeFileSync(
      path.join(art, 'build-info.json'),
      JSON.stringify({ target: 'esp32c3', idfVersion: '5.1.6', project: 'p', elf: 'p.elf' }),
    );
    await expect(readJobImage(ws)).rejects.toMatchObject({ code: 'no_firmware' });
    writeFileSync(path.join(art, 'merged.bin'), merged(0, 5, 0x30000));
    expect(await readJobImage(ws)).toMatchObject({ target: 'esp32c3', flashSize: undefined });
    writeFileSync(
      path.join(art, 'bundle/manifest.json'),
      JSON.stringify({
        v: 1,
        project: 'p',
        chip: 'esp32c3',
        idf_version: '5.1.6',
        flash: { mode: 'dio', freq: '80m', size: '4MB' },
        parts: [{ name: 'app', offset: 0x10000, size: 16, sha256: 'a'.repeat(64), file: 'p.bin' }],
        created_at: new Date().toISOString(),
      }),
    );
    const j = await readJobImage(ws);
    expect(j).toMatchObject({ target: 'esp32c3', idfVersion: '5.1.6', flashSize: '4MB' });
    expect(j.image.length).toBe(0x30000);
    expect(qemuFlashBytes(j.image.length, j.flashSize)).toBe(4 * MiB);
  });
});

describe('QEMU in the store', () => {
  it('finds the binaries and ROMs beside each IDF version, and nothing in a store without them', async () => {
    const store = tmp();
    const kit = path.join(store, 'idf/5.1.6');
    mkdirSync(path.join(kit, 'tools/qemu/bin'), { recursive: true });
    mkdirSync(path.join(kit, 'tools/qemu/share/qemu'), { recursive: true });
    mkdirSync(path.join(kit, 'esp-idf'));
    const manifest = {
      v: 1,
      versions: [
        {
          version: '5.1.6',
          path: 'idf/5.1.6/esp-idf',
          export_script: 'idf/5.1.6/export.sh',
          default: true,
          targets: ['esp32c3', 'esp32'],
          tools: [],
        },
      ],
    };
    writeFileSync(path.join(store, 'manifest.json'), JSON.stringify(manifest));
    expect((await findQemu(store)).size).toBe(0);
    const riscv = path.join(kit, 'tools/qemu/bin/qemu-system-riscv32');
    writeFileSync(riscv, '#!/bin/sh\n');
    // Not executable: not usable.
    expect((await findQemu(store)).size).toBe(0);
    chmodSync(riscv, 0o755);
    const found = await findQemu(store);
    expect([...found.keys()]).toEqual(['esp32c3']);
    const q = found.get('esp32c3')![0]!;
    expect(q).toEqual({ idfVersion: '5.1.6', binary: riscv, roms: path.join(kit, 'tools/qemu/share/qemu') });
    expect(qemuArgs('esp32c3', q, '/emu/flash.bin')).toEqual([
      riscv,
      '-M',
      'esp32c3',
      '-L',
      q.roms,
      '-nographic',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-nic',
      'none',
      '-drive',
      'file=/emu/flash.bin,if=mtd,format=raw',
    ]);
    expect((await findQemu(path.join(store, 'missing'))).size).toBe(0);
  });
});

describe('emulator slots', () => {
  it('hands out at most `max` and takes each back once', () => {
    const s = new EmulatorSlots(2);
    const a = s.tryAcquire()!;
    const b = s.tryAcquire()!;
    expect(s.tryAcquire()).toBeUndefined();
    a();
    a();
    expect(s.inUse).toBe(1);
    expect(s.tryAcquire()).toBeDefined();
    expect(s.tryAcquire()).toBeUndefined();
    b();
    expect(s.inUse).toBe(1);
  });
});
