import { describe, expect, it } from 'vitest';
import { ESPLoader, Transport } from 'esptool-js';
import { md5 } from '@noble/hashes/legacy.js';
import { SimDevice, SimSerialPort, type ChipName } from '@aegis/device-sim';

const md5hex = (d: Uint8Array) => Array.from(md5(d), (x) => x.toString(16).padStart(2, '0')).join('');
const quiet = { clean() {}, writeLine() {}, write() {} };
const le = (...w: number[]) =>
  new Uint8Array(w.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24]));

class QuietTransport extends Transport {
  override trace(): void {}
}

async function session(device: SimDevice, baud = 921600) {
  const port = new SimSerialPort(device);
  const transport = new QuietTransport(port as never);
  const loader = new ESPLoader({ transport, baudrate: baud, terminal: quiet });
  const chip = await loader.main('default_reset');
  return { port, transport, loader, chip };
}

describe('esptool-js 0.7.0 against the simulator (unmodified library, SerialPort shim)', () => {
  it.each([
    ['esp32', 'ESP32-D0WD-V3 (revision 3)'],
    ['esp32s3', 'ESP32-S3'],
    ['esp32c3', 'ESP32-C3 (QFN32) (revision v0.4)'],
    ['esp32s2', 'ESP32-S2'],
    ['esp32c2', 'ESP32-C2'],
    ['esp32c6', 'ESP32-C6'],
    ['esp32h2', 'ESP32-H2'],
  ] as const)(
    '%s: detects the chip, uploads the stub, raises the baud, writes compressed, verifies',
    async (chip, desc) => {
      const device = new SimDevice({ chip: chip as ChipName });
      const { loader, transport, chip: description } = await session(device);
      expect(description).toContain(desc);
      expect(device.mode).toBe('stub');
      expect(device.baud).toBe(921600);
      expect(await loader.readFlashId()).toBe(0x1640c8);
      // MAC and revision come from the chip's eFuse words.
      expect(await loader.chip.readMac(loader)).toBe('24:0a:c4:12:34:56');
      const img = new Uint8Array(70000).map((_, i) => (i * 13) ^ (i >> 7));
      await loader.writeFlash({
        fileArray: [{ data: img, address: 0x20000 }],
        flashMode: 'keep',
        flashFreq: 'keep',
        flashSize: 'keep',
        eraseAll: false,
        compress: true,
        calculateMD5Hash: md5hex,
      });
      expect(device.flash.read(0x20000, img.length)).toEqual(img);
      expect(device.commands).toContain('FLASH_DEFL_END');
      // READ_FLASH streams with acks (stub only) and reads back what was written.
      expect(await loader.readFlash(0x20000, 0x2000)).toEqual(img.subarray(0, 0x2000));
      await transport.disconnect();
    },
  );

  it('uncompressed FLASH_BEGIN/DATA/END, ERASE_REGION and ERASE_FLASH in the stub', async () => {
    const device = new SimDevice({ chip: 'esp32c3' });
    const { loader, transport } = await session(device, 460800);
    const img = new Uint8Array(5000).fill(0x42);
    await loader.writeFlash({
      fileArray: [{ data: img, address: 0x3000 }],
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: false,
      calculateMD5Hash: md5hex,
    });
    expect(device.flash.read(0x3000, 5000)).toEqual(img);
    expect(device.commands.filter((c) => c === 'FLASH_DATA').length).toBe(1);
    await loader.checkCommand('erase region', 0xd1, le(0x3000, 0x1000));
    expect(device.flash.read(0x3000, 0x1000).every((b) => b === 0xff)).toBe(true);
    expect(device.flash.read(0x4000, 4)).toEqual(img.subarray(0, 4));
    await expect(loader.checkCommand('erase region', 0xd1, le(0x3001, 0x1000))).rejects.toThrow(/status/);
    await loader.eraseFlash();
    expect(device.flash.data.every((b) => b === 0xff)).toBe(true);
    await transport.disconnect();
  });

  it('USB-Serial-JTAG variant (VID 0x303a, PID 0x1001): esptool-js picks its reset and connects', async () => {
    const device = new SimDevice({ chip: 'esp32c3', usbJtagSerial: true });
    const { loader, transport, port } = await session(device);
    expect(port.getInfo()).toEqual({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    expect(loader.IS_STUB).toBe(true);
    await transport.disconnect();
  });

  it('the ROM alone: MD5 comes back as hex text and FLASH_DEFL data is inflated incrementally', async () => {
    const device = new SimDevice({ chip: 'esp32s3' });
    const port = new SimSerialPort(device);
    const transport = new QuietTransport(port as never);
    const loader = new ESPLoader({ transport, baudrate: 115200, terminal: quiet });
    await loader.detectChip('default_reset');
    const img = new Uint8Array(40000).map((_, i) => i % 251);
    await loader.writeFlash({
      fileArray: [{ data: img, address: 0x10000 }],
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: true,
    });
    expect(device.mode).toBe('rom');
    // The ROM answers SPI_FLASH_MD5 with 32 ASCII hex digits (the stub with 16 raw bytes). esptool-js 0.7.0
    // hex-encodes either, so in ROM mode its result is the hex of that text: its own MD5 check cannot pass there.
    const reported = await loader.flashMd5sum(0x10000, img.length);
    const text = String.fromCharCode(...(reported.match(/../g) ?? []).map((h) => parseInt(h, 16)));
    expect(text).toBe(md5hex(img));
    expect(device.commands).not.toContain('FLASH_DEFL_END');
    expect(device.flash.read(0x10000, img.length)).toEqual(img);
    // The ROM erased whole 16 KiB write blocks: 40000 bytes round up to 48 KiB.
    expect(device.flash.stats.erases).toBe(12);
    await transport.disconnect();
  });
});
