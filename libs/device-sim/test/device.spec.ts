import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import {
  buildDemoFirmware,
  DeviceStream,
  encodeRequest,
  flashImageOf,
  Op,
  SimDevice,
  slipEncode,
  SlipDecoder,
  type Clock,
} from '@aegis/device-sim';
import { startTcpServer } from '@aegis/device-sim/tcp-server';

const SYNC = new Uint8Array([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)]);
const le = (...words: number[]) =>
  new Uint8Array(words.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]));
const cmd = (op: number, data: Uint8Array = new Uint8Array(0)) => slipEncode(encodeRequest(op, data));
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const parse = (f: Uint8Array) => ({ dir: f[0], op: f[1], val: u32(f, 4), data: f.subarray(8) });

describe('ROM loader over an in-process stream', () => {
  it.each([
    ['esp32', 0x00f01d83],
    ['esp32s3', 0x9],
    ['esp32c3', 0x1b31506f],
  ] as const)('%s answers SYNC eight times and the detection magic', async (chip, magic) => {
    const d = new SimDevice({ chip, startInDownloadMode: true });
    const s = new DeviceStream(d);
    s.write(cmd(Op.SYNC, SYNC));
    for (let i = 0; i < 8; i++) expect(parse(await s.readFrame())).toMatchObject({ dir: 1, op: Op.SYNC });
    s.write(cmd(Op.READ_REG, le(0x40001000)));
    const r = parse(await s.readFrame());
    expect(r.val).toBe(magic);
    // Every ESP32-family ROM sends four status bytes (esptool's ESP32ROM.STATUS_BYTES_LENGTH); the stub two.
    expect(r.data.length).toBe(4);
    s.close();
  });

  it('answers GET_SECURITY_INFO with the chip id, or as unsupported on the ESP32 ROM', async () => {
    const c3 = new DeviceStream(new SimDevice({ chip: 'esp32c3', startInDownloadMode: true }));
    c3.write(cmd(Op.GET_SECURITY_INFO));
    const r = parse(await c3.readFrame());
    expect(r.op).toBe(Op.GET_SECURITY_INFO);
    expect(u32(r.data, 12)).toBe(5);
    const e32 = new DeviceStream(new SimDevice({ chip: 'esp32', startInDownloadMode: true }));
    e32.write(cmd(Op.GET_SECURITY_INFO));
    const u = parse(await e32.readFrame());
    expect(u.op).not.toBe(Op.GET_SECURITY_INFO);
    expect([u.data[0], u.data[1]]).toEqual([1, 0x05]);
  });

  it('rejects a data block with a wrong checksum and stub-only commands in the ROM', async () => {
    const d = new SimDevice({ chip: 'esp32c3', startInDownloadMode: true });
    const s = new DeviceStream(d);
    s.write(cmd(Op.FLASH_BEGIN, le(0x1000, 1, 0x1000, 0x20000, 0)));
    expect(parse(await s.readFrame()).data[0]).toBe(0);
    const block = new Uint8Array(0x1000).fill(0x12);
    s.write(slipEncode(encodeRequest(Op.FLASH_DATA, new Uint8Array([...le(0x1000, 0, 0, 0), ...block]), 0x00)));
    expect(Array.from(parse(await s.readFrame()).data.subarray(0, 2))).toEqual([1, 0x07]);
    s.write(cmd(Op.ERASE_FLASH));
    const u = parse(await s.readFrame());
    expect([u.op !== Op.ERASE_FLASH, u.data[1]]).toEqual([true, 0x05]);
    expect(d.flash.read(0x20000, 16).every((b) => b === 0xff)).toBe(true);
  });

  it('acknowledges SPI_ATTACH and SPI_SET_PARAMS; the flash size set there is what RDID reports', async () => {
    const d = new SimDevice({ chip: 'esp32', startInDownloadMode: true });
    const s = new DeviceStream(d);
    s.write(cmd(Op.SPI_ATTACH, le(0, 0)));
    expect(parse(await s.readFrame()).data[0]).toBe(0);
    s.write(cmd(Op.SPI_SET_PARAMS, le(0, 16 * 1024 * 1024, 0x10000, 0x1000, 0x100, 0xffff)));
    expect(parse(await s.readFrame()).data[0]).toBe(0);
    // RDID through the SPI user-command registers, as esptool does it.
    const base = 0x3ff42000;
    s.write(cmd(Op.WRITE_REG, le(base + 0x24, (7 << 28) | 0x9f, 0xffffffff, 0)));
    await s.readFrame();
    s.write(cmd(Op.WRITE_REG, le(base, 1 << 18, 0xffffffff, 0)));
    await s.readFrame();
    s.write(cmd(Op.READ_REG, le(base)));
    expect(parse(await s.readFrame()).val & (1 << 18)).toBe(0);
    s.write(cmd(Op.READ_REG, le(base + 0x80)));
    expect(parse(await s.readFrame()).val).toBe(0x1840c8);
  });

  it('MEM_BEGIN/DATA/END runs the uploaded stub, which greets with OHAI and answers as the stub', async () => {
    const d = new SimDevice({ chip: 'esp32c3', startInDownloadMode: true });
    const s = new DeviceStream(d);
    const code = new Uint8Array(100).fill(0x13);
    s.write(cmd(Op.MEM_BEGIN, le(100, 1, 0x1800, 0x40380000)));
    await s.readFrame();
    const chk = code.reduce((c, b) => c ^ b, 0xef);
    s.write(slipEncode(encodeRequest(Op.MEM_DATA, new Uint8Array([...le(100, 0, 0, 0), ...code]), chk)));
    expect(parse(await s.readFrame()).data[0]).toBe(0);
    s.write(cmd(Op.MEM_END, le(0, 0x40380400)));
    await s.readFrame();
    expect(new TextDecoder().decode(await s.readFrame())).toBe('OHAI');
    expect(d.mode).toBe('stub');
    s.write(cmd(Op.SPI_FLASH_MD5, le(0, 0x1000, 0, 0)));
    const md5 = parse(await s.readFrame());
    expect(md5.data.length).toBe(16 + 2); // raw digest in the stub, 32 hex characters in the ROM
  });

  it('classic DTR/RTS: IO0 low on the EN edge enters download mode, IO0 high boots the app', async () => {
    const parts = buildDemoFirmware({ chip: 'esp32', projectName: 'weather' });
    const d = new SimDevice({ chip: 'esp32', flashImage: flashImageOf(parts) });
    const s = new DeviceStream(d);
    s.setSignals({ dtr: false, rts: true });
    expect(d.mode).toBe('reset');
    s.setSignals({ dtr: true, rts: false });
    await new Promise((r) => setTimeout(r, 30));
    expect(d.mode).toBe('rom');
    expect(s.text).toContain('boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download');
    s.setSignals({ dtr: false, rts: true });
    s.setSignals({ rts: false });
    await new Promise((r) => setTimeout(r, 30));
    expect(d.mode).toBe('app');
    expect(s.text).toContain('Project name:     weather');
  });

  it('USB-Serial-JTAG: the strap is latched when RTS rises and the chip boots when it falls', async () => {
    const d = new SimDevice({ chip: 'esp32c3', usbJtagSerial: true });
    const s = new DeviceStream(d);
    s.setSignals({ dtr: true, rts: false });
    s.setSignals({ rts: true });
    s.setSignals({ dtr: false });
    expect(d.mode).toBe('reset');
    s.setSignals({ rts: false });
    expect(d.mode).toBe('rom');
    s.setSignals({ rts: true });
    s.setSignals({ rts: false });
    expect(d.mode).toBe('app');
  });

  it('garbles bytes while host and chip baud rates differ', async () => {
    const d = new SimDevice({ chip: 'esp32c3', startInDownloadMode: true });
    const s = new DeviceStream(d, 115200);
    s.write(cmd(Op.CHANGE_BAUDRATE, le(460800, 0)));
    expect(parse(await s.readFrame()).op).toBe(Op.CHANGE_BAUDRATE);
    expect(d.baud).toBe(460800);
    s.write(cmd(Op.READ_REG, le(0x40001000)));
    await expect(s.readFrame(200)).rejects.toThrow(/No SLIP frame/);
    s.setBaud(460800);
    s.write(cmd(Op.READ_REG, le(0x40001000)));
    expect(parse(await s.readFrame()).val).toBe(0x1b31506f);
  });
});

class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  async advanceTo(t: number) {
    for (;;) {
      await flushMicrotasks();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > t) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = t;
    await flushMicrotasks();
  }
}
const flushMicrotasks = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('line-rate model', () => {
  it('bytes arrive 10 bit-times each after the line is free', async () => {
    const clock = new FakeClock();
    const d = new SimDevice({ chip: 'esp32c3', startInDownloadMode: true, lineRate: true, clock });
    const got: { t: number; n: number }[] = [];
    const dec = new SlipDecoder();
    const link = d.attachHost((b) => got.push({ t: clock.now(), n: dec.push(b).length }), 115200);
    // A 6 KiB block: the loader can only answer once its last byte has arrived.
    const req = cmd(Op.MEM_DATA, new Uint8Array([...le(0x1800, 0, 0, 0), ...new Array<number>(0x1800).fill(0x11)]));
    link.write(req);
    const inMs = (req.length * 10 * 1000) / 115200;
    await clock.advanceTo(inMs - 2);
    expect(got).toEqual([]);
    expect(d.commands).toEqual([]);
    // The 14-byte response (8 header + 4 status, SLIP framed) needs 1.22 ms more on the line.
    await clock.advanceTo(inMs + 0.01);
    expect(d.commands).toEqual(['MEM_DATA']);
    await clock.advanceTo(inMs + (14 * 10 * 1000) / 115200 + 0.01);
    expect(got.map((g) => g.n)).toEqual([1]);
  });
});

describe('TCP server', () => {
  it('speaks the loader protocol on a loopback socket (socket://)', async () => {
    const server = await startTcpServer({ deviceOptions: { chip: 'esp32s3' } });
    expect(server.url).toMatch(/^socket:\/\/127\.0\.0\.1:\d+$/);
    const sock = connect(server.port, '127.0.0.1');
    const dec = new SlipDecoder();
    const frames: Uint8Array[] = [];
    const eight = new Promise<void>((resolve) =>
      sock.on('data', (b: Uint8Array) => {
        frames.push(...dec.push(new Uint8Array(b)));
        if (frames.length >= 8) resolve();
      }),
    );
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(cmd(Op.SYNC, SYNC));
    await eight;
    expect(frames.map((f) => parse(f).op)).toEqual(new Array(8).fill(Op.SYNC));
    expect(server.device.commands[0]).toBe('SYNC');
    sock.destroy();
    await server.close();
  });
});
