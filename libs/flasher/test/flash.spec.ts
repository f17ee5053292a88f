import { beforeAll, describe, expect, it } from 'vitest';
import { buildDemoFirmware, flashImageOf, SimDevice, SimSerialPort, type ChipName } from '@aegis/device-sim';
import { flash, FlashError, monitor, type FlashProgress } from '@aegis/flasher';
import { changedSectors, makeBundle, makeKeys, type TestKeys } from './fixtures.js';

let keys: TestKeys;
beforeAll(async () => {
  keys = await makeKeys();
});

/** Byte equality without vitest's element-by-element diffing (megabyte arrays). */
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

async function bootLogVia(port: SimSerialPort): Promise<string> {
  let text = '';
  const m = await monitor(port, { baud: 115200, reset: true, onData: (b) => (text += new TextDecoder().decode(b)) });
  for (let i = 0; i < 50 && !text.includes('Calling app_main()'); i++) await new Promise((r) => setTimeout(r, 10));
  await m.stop();
  return text;
}

describe('flash(): a full bundle in one session', () => {
  it.each(['esp32', 'esp32s2', 'esp32s3', 'esp32c2', 'esp32c3', 'esp32c6', 'esp32h2'] as const)(
    '%s: writes, verifies, resets into the app and frees the port',
    async (chip) => {
      const device = new SimDevice({ chip: chip as ChipName });
      const port = new SimSerialPort(device);
      const parts = buildDemoFirmware({ chip, projectName: `hello_${chip}`, version: '1.2.3' });
      const bundle = await makeBundle(parts, chip, keys);
      const events: FlashProgress[] = [];
      const result = await flash({
        port,
        bundle,
        trust: { publicJwk: keys.publicJwk },
        onProgress: (e) => events.push(e),
      });

      expect(result.chip).toBe(chip);
      expect(result.baud).toBe(921600);
      expect(result.flashSize).toBe(4 * 1024 * 1024);
      expect(result.parts.map((p) => p.mode)).toEqual(['full', 'full', 'full']);
      for (const p of parts) expect(same(device.flash.read(p.offset, p.data.length), p.data)).toBe(true);
      await until(() => device.mode === 'app');
      expect(device.mode).toBe('app');
      expect(device.lastBootLog).toContain(`Project name:     hello_${chip}`);
      expect(port.isOpen).toBe(false);

      const app = events.filter((e) => e.part === 'app');
      expect(app.at(-1)).toMatchObject({ percent: 100, bytesWritten: app.at(-1)!.total });
      expect(app.every((e, i) => i === 0 || e.bytesWritten >= app[i - 1].bytesWritten)).toBe(true);
      expect(app.at(-1)!.bytesPerSec).toBeGreaterThan(0);

      const log = await bootLogVia(port);
      expect(log).toContain(`App version:      1.2.3`);
      expect(log).toContain(`Project name:     hello_${chip}`);
    },
  );

  it('USB-Serial-JTAG board (VID 0x303a / PID 0x1001) is reset through the USB peripheral', async () => {
    const device = new SimDevice({ chip: 'esp32c3', usbJtagSerial: true });
    const port = new SimSerialPort(device);
    const parts = buildDemoFirmware({ chip: 'esp32c3', projectName: 'usb_app' });
    const result = await flash({
      port,
      bundle: await makeBundle(parts, 'esp32c3', keys),
      trust: { publicJwk: keys.publicJwk },
    });
    expect(result.resetKind).toBe('usb-jtag');
    expect(device.lastBootLog).toContain('Project name:     usb_app');
    expect(await bootLogVia(port)).toContain('Project name:     usb_app');
  });

  it('falls back to the ROM baud when the link cannot carry the requested rate', async () => {
    const device = new SimDevice({ chip: 'esp32c3', maxBaud: 460800 });
    const port = new SimSerialPort(device);
    const parts = buildDemoFirmware({ chip: 'esp32c3', appSize: 64 * 1024 });
    const result = await flash({
      port,
      bundle: await makeBundle(parts, 'esp32c3', keys),
      trust: { publicJwk: keys.publicJwk },
      baud: 921600,
    });
    expect(result.baud).toBe(115200);
    for (const p of parts) expect(same(device.flash.read(p.offset, p.data.length), p.data)).toBe(true);
  });

  // The ROM computes the new divider from the crystal it believes in; esptool corrects for it (ESP32: RC drift
  // estimate from calibration + eFuse; ESP32-C2: 40 MHz assumed on a 26 MHz board). Uncorrected, the chip lands
  // outside the UART tolerance and the whole session falls back to 115200.
  it.each([
    ['esp32c2 on a 26 MHz crystal', { chip: 'esp32c2' }],
    ['esp32 whose ROM estimates its crystal 5 % high', { chip: 'esp32', romXtalHz: 42_000_000 }],
  ] as const)('%s keeps the requested baud (esptool crystal corrections)', async (_, opts) => {
    const device = new SimDevice({ ...opts, lineRate: true });
    const port = new SimSerialPort(device);
    const parts = buildDemoFirmware({ chip: opts.chip, appSize: 32 * 1024 });
    const result = await flash({
      port,
      bundle: await makeBundle(parts, opts.chip, keys),
      trust: { publicJwk: keys.publicJwk },
      baud: 921600,
    });
    expect(result.chip).toBe(opts.chip);
    expect(result.baud).toBe(921600);
    for (const p of parts) expect(same(device.flash.read(p.offset, p.data.length), p.data)).toBe(true);
  });

  it('a custom reset sequence string is used to enter download mode', async () => {
    const device = new SimDevice({ chip: 'esp32s3' });
    const port = new SimSerialPort(device);
    const parts = buildDemoFirmware({ chip: 'esp32s3', appSize: 32 * 1024 });
    const result = await flash({
      port,
      bundle: await makeBundle(parts, 'esp32s3', keys),
      trust: { publicJwk: keys.publicJwk },
      reset: { sequence: 'D0|R1|W100|D1|R0|W50|D0' },
    });
    expect(result.resetKind).toBe('custom');
    await until(() => device.mode === 'app');
    expect(device.mode).toBe('app');
  });

  it('can be cancelled between blocks; the port is released for the next attempt', async () => {
    const device = new SimDevice({ chip: 'esp32c3' });
    const port = new SimSerialPort(device);
    const parts = buildDemoFirmware({ chip: 'esp32c3', appSize: 256 * 1024 });
    const bundle = await makeBundle(parts, 'esp32c3', keys);
    const ctl = new AbortController();
    const err = await flash({
      port,
      bundle,
      trust: { publicJwk: keys.publicJwk },
      signal: ctl.signal,
      onProgress: (p) => p.part === 'app' && p.bytesWritten > 0 && ctl.abort(),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'aborted', nothingWritten: false });
    expect(port.isOpen).toBe(false);
    const again = await flash({ port, bundle, trust: { publicJwk: keys.publicJwk } });
    expect(again.parts.find((p) => p.name === 'app')!.mode).not.toBe('unchanged');
  });
});

describe('flash(): sector-diff reflash', () => {
  it('writes only the sectors that changed, then verifies and boots the new app', async () => {
    const v1 = buildDemoFirmware({ chip: 'esp32c3', projectName: 'sensor', version: '1.0.0', appSize: 400 * 1024 });
    // "Change one function": same size, new code in one place (plus the new ELF hash in the app descriptor).
    const v2 = buildDemoFirmware({
      chip: 'esp32c3',
      projectName: 'sensor',
      version: '1.0.0',
      appSize: 400 * 1024,
      patch: { at: 150_000, length: 300, seed: 9 },
    });
    const device = new SimDevice({ chip: 'esp32c3', flashImage: flashImageOf(v1) });
    const port = new SimSerialPort(device);
    const app1 = v1.find((p) => p.name === 'app')!.data;
    const app2 = v2.find((p) => p.name === 'app')!.data;
    const expected = changedSectors(app1, app2, 0x10000);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    expect(expected.length).toBeLessThanOrEqual(4);

    device.flash.resetStats();
    const result = await flash({
      port,
      bundle: await makeBundle(v2, 'esp32c3', keys),
      trust: { publicJwk: keys.publicJwk },
    });
    expect(result.parts.map((p) => p.mode)).toEqual(['unchanged', 'unchanged', 'diff']);
    expect([...device.flash.stats.writtenSectors].sort((a, b) => a - b)).toEqual(expected);
    expect(device.flash.stats.erases).toBe(expected.length);
    expect(result.parts[2].sectorsWritten).toBe(expected.length);
    // Bisection instead of one MD5 per sector: ~100 sectors were decided with far fewer requests.
    const appSectors = Math.ceil(app2.length / 4096);
    expect(result.md5Requests).toBeLessThan(appSectors / 2);
    expect(same(device.flash.read(0x10000, app2.length), app2)).toBe(true);
    expect(device.lastBootLog).toContain('Project name:     sensor');
    expect(device.lastBootLog).toContain('Loaded app from partition at offset 0x10000');
  });

  it('a board with unrelated content gets a full write after a few MD5 requests (precompressed)', async () => {
    const other = buildDemoFirmware({ chip: 'esp32c3', seed: 77, appSize: 256 * 1024 });
    const mine = buildDemoFirmware({ chip: 'esp32c3', seed: 5, appSize: 256 * 1024 });
    const device = new SimDevice({ chip: 'esp32c3', flashImage: flashImageOf(other) });
    const result = await flash({
      port: new SimSerialPort(device),
      bundle: await makeBundle(mine, 'esp32c3', keys),
      trust: { publicJwk: keys.publicJwk },
      precompress: true,
    });
    expect(result.parts.find((p) => p.name === 'app')!.mode).toBe('full');
    expect(result.md5Requests).toBeLessThan(64);
    for (const p of mine) expect(same(device.flash.read(p.offset, p.data.length), p.data)).toBe(true);
  });
});

describe('flash(): refusals happen before anything is written', () => {
  const c3 = () => buildDemoFirmware({ chip: 'esp32c3', appSize: 32 * 1024 });
  async function refused(device: SimDevice, run: (port: SimSerialPort) => Promise<unknown>) {
    const port = new SimSerialPort(device);
    const before = device.flash.data.slice();
    const err = await run(port).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlashError);
    const fe = err as FlashError;
    expect(fe.message.length).toBeGreaterThan(20);
    expect(fe.nothingWritten).toBe(true);
    expect(device.commands.filter((c) => /FLASH_(DEFL_)?(BEGIN|DATA)|ERASE/.test(c))).toEqual([]);
    expect(same(device.flash.data, before)).toBe(true);
    expect(port.isOpen).toBe(false);
    return fe;
  }

  it('a file whose sha256 does not match the manifest', async () => {
    const bundle = await makeBundle(c3(), 'esp32c3', keys);
    const f = bundle.files as Map<string, Uint8Array>;
    const app = f.get('files/app.bin')!.slice();
    app[1000] ^= 1;
    f.set('files/app.bin', app);
    const e = await refused(new SimDevice(), (port) => flash({ port, bundle, trust: { publicJwk: keys.publicJwk } }));
    expect(e.code).toBe('sha256_mismatch');
  });

  it('a signature by another key, and a missing signature', async () => {
    const other = await makeKeys();
    const bundle = await makeBundle(c3(), 'esp32c3', other);
    const e = await refused(new SimDevice(), (port) => flash({ port, bundle, trust: { publicJwk: keys.publicJwk } }));
    expect(e.code).toBe('bad_signature');
    const unsigned = { ...(await makeBundle(c3(), 'esp32c3', keys)), jws: undefined };
    const e2 = await refused(new SimDevice(), (port) =>
      flash({ port, bundle: unsigned, trust: { publicJwk: keys.publicJwk } }),
    );
    expect(e2.code).toBe('bad_signature');
  });

  it('a bundle for another chip than the one connected', async () => {
    const bundle = await makeBundle(buildDemoFirmware({ chip: 'esp32s3', appSize: 32 * 1024 }), 'esp32s3', keys);
    const device = new SimDevice({ chip: 'esp32c3' });
    const e = await refused(device, (port) => flash({ port, bundle, trust: { publicJwk: keys.publicJwk } }));
    expect(e.code).toBe('wrong_chip');
    expect(e.message).toContain('ESP32-S3');
    expect(e.message).toContain('ESP32-C3');
  });

  it('a part beyond the flash size of the board', async () => {
    const parts = [...c3(), { name: 'storage', offset: 0x1f0000, data: new Uint8Array(0x20000).fill(7) }];
    const bundle = await makeBundle(parts, 'esp32c3', keys);
    const e = await refused(new SimDevice({ flashSize: 2 * 1024 * 1024 }), (port) =>
      flash({ port, bundle, trust: { publicJwk: keys.publicJwk } }),
    );
    expect(e.code).toBe('part_beyond_flash');
  });

  it('overlapping parts', async () => {
    const parts = [...c3(), { name: 'extra', offset: 0x11000, data: new Uint8Array(0x1000) }];
    const bundle = await makeBundle(parts, 'esp32c3', keys);
    const e = await refused(new SimDevice(), (port) => flash({ port, bundle, trust: { publicJwk: keys.publicJwk } }));
    expect(e.code).toBe('overlapping_parts');
  });

  it('a port held by another program or tab', async () => {
    const device = new SimDevice();
    const elsewhere = new SimSerialPort(device);
    await elsewhere.open({ baudRate: 115200 });
    const bundle = await makeBundle(c3(), 'esp32c3', keys);
    const e = await refused(device, (port) => flash({ port, bundle, trust: { publicJwk: keys.publicJwk } }));
    expect(e.code).toBe('port_busy');
    expect(e.message).toMatch(/in use by another program or browser tab/);
    // The same port object already open in this page counts too, and is left open for its owner.
    const e2 = await flash({ port: elsewhere, bundle, trust: { publicJwk: keys.publicJwk } }).catch(
      (x: FlashError) => x,
    );
    expect((e2 as FlashError).code).toBe('port_busy');
    expect(elsewhere.isOpen).toBe(true);
  });

  it('a board that does not enter download mode → no_sync with guidance', async () => {
    const device = new SimDevice();
    const bundle = await makeBundle(c3(), 'esp32c3', keys);
    // A sequence that never resets the chip: like a board without the auto-reset circuit.
    const e = await refused(device, (port) =>
      flash({
        port,
        bundle,
        trust: { publicJwk: keys.publicJwk },
        reset: { sequence: 'D0|R0|W10' },
        connectAttempts: 1,
      }),
    );
    expect(e.code).toBe('no_sync');
    expect(e.message).toMatch(/hold BOOT/);
  });

  it('a board in Secure Download Mode → secure_download_mode with what to do', async () => {
    const device = new SimDevice({ chip: 'esp32c3', secureDownloadMode: true });
    const port = new SimSerialPort(device);
    const parts = buildDemoFirmware({ chip: 'esp32c3', appSize: 32 * 1024 });
    const err = await flash({
      port,
      bundle: await makeBundle(parts, 'esp32c3', keys),
      trust: { publicJwk: keys.publicJwk },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect(err).toMatchObject({ code: 'secure_download_mode', nothingWritten: true });
    expect((err as Error).message).toMatch(/Secure Download Mode.*--no-stub write_flash/);
    expect(device.commands).not.toContain('MEM_BEGIN');
    expect(device.commands.some((c) => c.startsWith('FLASH'))).toBe(false);
    expect(port.isOpen).toBe(false);
  });

  it('an invalid reset sequence string', async () => {
    const bundle = await makeBundle(c3(), 'esp32c3', keys);
    const e = await refused(new SimDevice(), (port) =>
      flash({ port, bundle, trust: { publicJwk: keys.publicJwk }, reset: { sequence: 'D0|X1' } }),
    );
    expect(e.code).toBe('bad_reset_sequence');
  });
});

describe('monitor()', () => {
  it('refuses a port held elsewhere and closes the port when aborted', async () => {
    const device = new SimDevice({ chip: 'esp32c3' });
    const holder = new SimSerialPort(device);
    await holder.open({ baudRate: 115200 });
    await expect(monitor(new SimSerialPort(device), { onData: () => {} })).rejects.toMatchObject({ code: 'port_busy' });
    await holder.close();
    const ctl = new AbortController();
    const port = new SimSerialPort(device);
    const m = await monitor(port, { onData: () => {}, signal: ctl.signal });
    expect(port.isOpen).toBe(true);
    ctl.abort();
    await m.closed;
    expect(port.isOpen).toBe(false);
  });
});
