import { describe, expect, it } from 'vitest';
import {
  APP_OFFSET,
  buildDemoFirmware,
  CHIPS,
  flashImageOf,
  FlashMemory,
  SimDevice,
  bootFromFlash,
} from '@aegis/device-sim';

const boot = (image: Uint8Array, chip: 'esp32' | 'esp32s3' | 'esp32c3' = 'esp32c3') =>
  bootFromFlash(CHIPS[chip], new FlashMemory(image.length, image));

describe('normal boot', () => {
  it.each(['esp32', 'esp32s3', 'esp32c3'] as const)(
    '%s: prints the ROM and bootloader log with the app description',
    (chip) => {
      const parts = buildDemoFirmware({ chip, projectName: 'blinky', version: '2.4.1', idfVersion: 'v5.3.1' });
      const r = boot(flashImageOf(parts), chip);
      expect(r.ok).toBe(true);
      expect(r.log).toMatch(/entry 0x[0-9a-f]{8}/);
      expect(r.log).toContain('boot: ESP-IDF v5.3.1 2nd stage bootloader');
      expect(r.log).toMatch(/boot: {2}2 factory +factory app +00 00 00010000 /);
      expect(r.log).toContain(`Loaded app from partition at offset 0x${APP_OFFSET.toString(16)}`);
      expect(r.log).toContain('Project name:     blinky');
      expect(r.log).toContain('App version:      2.4.1');
      expect(r.app).toMatchObject({ projectName: 'blinky', version: '2.4.1' });
    },
  );

  it('erased flash: the ROM cannot find a bootloader', () => {
    const r = boot(new Uint8Array(0x400000).fill(0xff));
    expect(r.ok).toBe(false);
    expect(r.log).toContain('invalid header: 0xffffffff');
  });

  it('no app flashed: invalid magic byte at the app offset', () => {
    const parts = buildDemoFirmware({ chip: 'esp32c3' }).filter((p) => p.name !== 'app');
    const r = boot(flashImageOf(parts));
    expect(r.log).toContain('esp_image: image at 0x10000 has invalid magic byte (nothing flashed here?)');
    expect(r.log).toContain('No bootable app partitions in the partition table');
  });

  it('a corrupted byte in the app fails the checksum; a corrupted digest fails the hash', () => {
    const parts = buildDemoFirmware({ chip: 'esp32c3' });
    const img = flashImageOf(parts);
    const app = parts.find((p) => p.name === 'app')!;
    const flipped = img.slice();
    flipped[APP_OFFSET + 0x2000] ^= 0x01;
    expect(boot(flipped).log).toMatch(/esp_image: Checksum failed\. Calculated 0x[0-9a-f]+ read 0x[0-9a-f]+/);
    const badDigest = img.slice();
    badDigest[APP_OFFSET + app.data.length - 1] ^= 0x01;
    const r = boot(badDigest);
    expect(r.log).toContain('esp_image: Image hash failed - image is corrupt');
    expect(r.ok).toBe(false);
  });

  it('an erased partition table stops the bootloader', () => {
    const parts = buildDemoFirmware({ chip: 'esp32c3' }).filter((p) => p.name !== 'partition-table');
    const r = boot(flashImageOf(parts));
    expect(r.log).toContain('flash_parts: partition 0 invalid magic number 0xffff');
    expect(r.log).toContain('load partition table error!');
  });

  it('a corrupted bootloader is refused by the ROM', () => {
    const img = flashImageOf(buildDemoFirmware({ chip: 'esp32c3' }));
    img[0x100] ^= 0xff;
    expect(boot(img).log).toMatch(/Checksum failure\. Calculated 0x[0-9a-f]+ stored 0x[0-9a-f]+/);
  });

  it('an app for another chip is not started', () => {
    const img = flashImageOf(buildDemoFirmware({ chip: 'esp32c3' }));
    const s3app = buildDemoFirmware({ chip: 'esp32s3' }).find((p) => p.name === 'app')!;
    img.set(s3app.data, APP_OFFSET);
    expect(boot(img).log).toContain('boot_comm: mismatch chip ID, expected 5, found 9');
  });

  it('the device boots at power-on and keeps the log', () => {
    const d = new SimDevice({
      chip: 'esp32s3',
      flashImage: flashImageOf(buildDemoFirmware({ chip: 'esp32s3', projectName: 'hello' })),
    });
    expect(d.mode).toBe('app');
    expect(d.lastBootLog).toContain('ESP-ROM:esp32s3');
    expect(d.lastBootLog).toContain('Project name:     hello');
  });
});
