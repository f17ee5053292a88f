import { describe, expect, it } from 'vitest';
import { ESPLoader, Transport } from 'esptool-js';
import { md5 } from '@noble/hashes/legacy.js';
import { SimDevice, SimSerialPort } from '@aegis/device-sim';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const terminal = { clean() {}, writeLine() {}, write() {} };

describe('smoke', () => {
  it('esptool-js connects and writes', async () => {
    const device = new SimDevice({ chip: 'esp32c3' });
    const port = new SimSerialPort(device);
    const transport = new Transport(port as never);
    const loader = new ESPLoader({ transport, baudrate: 921600, terminal });
    const chip = await loader.main('default_reset');
    expect(chip).toContain('ESP32-C3');
    const img = new Uint8Array(100000).map((_, i) => (i * 7) & 0xff);
    await loader.writeFlash({
      fileArray: [{ data: img, address: 0x10000 }],
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: true,
      calculateMD5Hash: (d: Uint8Array) => hex(md5(d)),
    });
    expect(device.flash.read(0x10000, img.length)).toEqual(img);
    console.log(device.commands.join(' '));
    await transport.disconnect();
  });
});
