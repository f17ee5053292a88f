import { EmulatorClientMessage, type EmulatorServerMessage } from '@aegis/protocol';
import { describe, expect, it } from 'vitest';
import { BoardSession } from '../src/lib/flash/board-session';
import { EmulatorBoard, EmulatorImageError, checkEmulatorImage, emulatedChip } from '../src/lib/flash/emulator-board';
import { virtualBoardTakes } from '../src/lib/flash/virtual-board';
import { EmulatorClient, EmulatorError, wrapBrowserDataChannel } from '@aegis/peer/browser';

/** The browser side of an RTCDataChannel, with the machine's end driven by the test. */
class FakeChannel extends EventTarget {
  readonly label = 'emulator';
  readyState: RTCDataChannelState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType: BinaryType = 'blob';
  readonly sentText: unknown[] = [];
  readonly sentBytes: Uint8Array[] = [];
  send(d: string | Uint8Array) {
    if (typeof d === 'string') {
      const m = JSON.parse(d) as unknown;
      // Every control frame must be one the machine's parser accepts.
      EmulatorClientMessage.parse(m);
      this.sentText.push(m);
    } else this.sentBytes.push(d.slice());
  }
  close() {
    this.readyState = 'closed';
    this.dispatchEvent(new Event('close'));
  }
  fromMachine(m: EmulatorServerMessage | Uint8Array) {
    const data = m instanceof Uint8Array ? m.slice().buffer : JSON.stringify(m);
    this.dispatchEvent(new MessageEvent('message', { data }));
  }
  get dc() {
    return this as unknown as RTCDataChannel;
  }
}

const ready = (seconds = 300): EmulatorServerMessage => ({
  type: 'ready',
  chip: 'esp32c3',
  flash_bytes: 4 << 20,
  seconds,
});
const tick = () => new Promise((r) => setTimeout(r, 0));
const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join('');

describe('EmulatorClient on the emulator channel', () => {
  it('starts the job image, streams UART both ways, resets and stops', async () => {
    const ch = new FakeChannel();
    const c = new EmulatorClient(wrapBrowserDataChannel(ch.dc));
    expect(ch.binaryType).toBe('arraybuffer');
    const out: Uint8Array[] = [];
    c.onOutput((b) => out.push(b));
    const started = c.start({ seconds: 30 });
    await tick();
    expect(ch.sentText).toEqual([{ type: 'start', image: 'job', seconds: 30 }]);
    ch.fromMachine(ready(30));
    await expect(started).resolves.toEqual({ chip: 'esp32c3', flash_bytes: 4 << 20, seconds: 30 });

    ch.fromMachine(new TextEncoder().encode('Hello world!\r\n'));
    expect(text(out)).toBe('Hello world!\r\n');
    await c.write('ab');
    expect(text(ch.sentBytes)).toBe('ab');

    const reset = c.reset();
    await tick();
    expect(ch.sentText.at(-1)).toEqual({ type: 'reset' });
    let resetDone = false;
    void reset.then(() => (resetDone = true));
    await tick();
    expect(resetDone).toBe(false);
    ch.fromMachine(ready(30));
    await reset;

    const stopped = c.stop();
    await tick();
    expect(ch.sentText.at(-1)).toEqual({ type: 'stop' });
    ch.fromMachine({ type: 'exit', reason: 'stopped', code: null });
    await expect(stopped).resolves.toEqual({ reason: 'stopped', code: null });
    // Nothing runs now: a second stop answers at once with the last exit, without a frame.
    const n = ch.sentText.length;
    await expect(c.stop()).resolves.toEqual({ reason: 'stopped', code: null });
    expect(ch.sentText.length).toBe(n);
  });

  it('sends a client image after its start frame, in chunks that add up to image_bytes', async () => {
    const ch = new FakeChannel();
    const c = new EmulatorClient(wrapBrowserDataChannel(ch.dc));
    const image = new Uint8Array(150 * 1024).map((_, i) => i & 0xff);
    const started = c.start({ image });
    await tick();
    expect(ch.sentText).toEqual([{ type: 'start', image: 'client', image_bytes: image.length }]);
    expect(ch.sentBytes.length).toBeGreaterThan(1);
    const got = new Uint8Array(ch.sentBytes.reduce((n, b) => n + b.length, 0));
    ch.sentBytes.reduce((off, b) => (got.set(b, off), off + b.length), 0);
    expect(got).toEqual(image);
    ch.fromMachine(ready());
    await started;
  });

  it("rejects a start with the machine's refusal, and pending calls when the channel closes", async () => {
    const ch = new FakeChannel();
    const c = new EmulatorClient(wrapBrowserDataChannel(ch.dc));
    const errors: EmulatorError[] = [];
    c.onError((e) => errors.push(e));
    const refused = c.start();
    ch.fromMachine({ type: 'error', code: 'no_build', message: 'Build the project first.' });
    await expect(refused).rejects.toMatchObject({ code: 'no_build', message: 'Build the project first.' });
    expect(errors.map((e) => e.code)).toEqual(['no_build']);

    const early = c.start();
    ch.fromMachine({ type: 'exit', reason: 'exited', code: 1, detail: 'qemu: bad image' });
    await expect(early).rejects.toMatchObject({ code: 'exit_exited' });
    await expect(early).rejects.toThrow(/QEMU exited \(code 1\) — qemu: bad image/);

    const pending = c.start();
    ch.close();
    await expect(pending).rejects.toBeInstanceOf(EmulatorError);
    await expect(c.start()).rejects.toMatchObject({ code: 'channel_closed' });
  });
});

describe('the emulated board in the flash panel', () => {
  it('runs, shows why it ended, runs again, and reports a channel the machine refused', async () => {
    const ch = new FakeChannel();
    let opens = 0;
    const emu = new EmulatorBoard(async () => {
      opens++;
      return ch.dc;
    });
    const out: Uint8Array[] = [];
    emu.onOutput((b) => out.push(b));
    const run = emu.run(60);
    expect(emu.store.get().phase).toBe('starting');
    await tick();
    ch.fromMachine(ready(60));
    await run;
    expect(emu.store.get()).toMatchObject({ phase: 'running', chip: 'esp32c3', seconds: 60, boots: 1 });
    ch.fromMachine(new TextEncoder().encode('Hello world!\n'));
    ch.fromMachine({ type: 'exit', reason: 'time_limit', code: null });
    expect(emu.store.get()).toMatchObject({ phase: 'ended', exit: { reason: 'time_limit' } });
    expect(text(out)).toMatch(/booting, stops after 60 s[^]*Hello world![^]*the time limit was reached/);

    const again = emu.run(30);
    await tick();
    ch.fromMachine(ready(30));
    await again;
    expect(emu.store.get()).toMatchObject({ phase: 'running', exit: null, boots: 1 });
    expect(opens).toBe(1);

    const refused = new EmulatorBoard(() =>
      Promise.reject(new Error('The emulator channel was closed by the build machine.')),
    );
    await refused.run();
    expect(refused.store.get()).toMatchObject({
      phase: 'ended',
      error: { message: 'The emulator channel was closed by the build machine.' },
    });
  });

  it('opens its channel once when prepared ahead of a run that follows at once, and runs on it', async () => {
    const ch = new FakeChannel();
    let opens = 0;
    let opened!: () => void;
    const gate = new Promise<void>((r) => (opened = r));
    const emu = new EmulatorBoard(async () => {
      opens++;
      await gate;
      return ch.dc;
    });
    emu.prepare();
    const run = emu.run(60);
    opened();
    await tick();
    await tick();
    expect(ch.sentText).toEqual([{ type: 'start', image: 'job', seconds: 60 }]);
    ch.fromMachine(ready(60));
    await run;
    expect(emu.store.get()).toMatchObject({ phase: 'running', boots: 1 });
    expect(opens).toBe(1);
    // A refused open at prepare time shows nothing until Run, which then tries again.
    let tries = 0;
    const flaky = new EmulatorBoard(() => (++tries === 1 ? Promise.reject(new Error('busy')) : Promise.resolve(ch.dc)));
    flaky.prepare();
    await tick();
    expect(flaky.store.get()).toMatchObject({ phase: 'idle', error: null });
    const second = flaky.run(30);
    await tick();
    await tick();
    ch.fromMachine(ready(30));
    await second;
    expect(tries).toBe(2);
  });

  it("routes the monitor's bytes to the emulator only while it is the chosen board, and stops it when left", async () => {
    const ch = new FakeChannel();
    const emu = new EmulatorBoard(async () => ch.dc);
    const board = new BoardSession();
    board.offerEmulator(emu);
    const seen: Uint8Array[] = [];
    board.onSerialData((b) => seen.push(b));
    const run = emu.run();
    await tick();
    ch.fromMachine(ready());
    await run;
    ch.fromMachine(new TextEncoder().encode('not chosen\n'));
    expect(seen).toEqual([]);

    board.setKind('emulator');
    ch.fromMachine(new TextEncoder().encode('Hello world!\n'));
    expect(text(seen)).toBe('Hello world!\n');
    await board.write(new TextEncoder().encode('x'));
    expect(text(ch.sentBytes)).toBe('x');
    void board.reset();
    await tick();
    expect(ch.sentText.at(-1)).toEqual({ type: 'reset' });
    ch.fromMachine(ready());
    await tick();
    expect(emu.store.get().boots).toBe(2);

    board.setKind('virtual');
    await tick();
    expect(ch.sentText.at(-1)).toEqual({ type: 'stop' });
    expect(emu.store.get().phase).toBe('stopping');
  });

  it('offers the emulator for the chips QEMU runs and the virtual board only for the chip it simulates', () => {
    expect(emulatedChip('esp32c3')).toBe('esp32c3');
    expect(emulatedChip('esp32')).toBe('esp32');
    expect(emulatedChip('esp32s3')).toBeNull();
    expect(emulatedChip(undefined)).toBeNull();
    expect(virtualBoardTakes('esp32c3')).toBe(true);
    expect(virtualBoardTakes('esp32')).toBe(false);
    expect(virtualBoardTakes(null)).toBe(true);
  });
});

/** A merged image with a bootloader header for `chipId` at `at` (0xe9 magic, chip id at byte 12 of the header). */
function merged(at: number, chipId: number, length = 0x20000): Uint8Array {
  const img = new Uint8Array(length).fill(0xff);
  img[at] = 0xe9;
  img[at + 12] = chipId & 0xff;
  img[at + 13] = chipId >> 8;
  return img;
}

describe('a flash image the user picks for the emulator', () => {
  it('takes a merged image of either emulated chip, told by its bootloader header', () => {
    expect(checkEmulatorImage('c3.bin', merged(0, 5)).chip).toBe('esp32c3');
    expect(checkEmulatorImage('esp32.bin', merged(0x1000, 0)).chip).toBe('esp32');
    expect(checkEmulatorImage('full.bin', merged(0, 5, 16 << 20)).bytes.length).toBe(16 << 20);
  });

  it('refuses, saying what to pick instead: empty, over 16 MiB, no bootloader where the chips keep it', () => {
    expect(() => checkEmulatorImage('e.bin', new Uint8Array(0))).toThrow(/e\.bin is empty; pick a merged flash image/);
    expect(() => checkEmulatorImage('big.bin', merged(0, 5, 17 << 20))).toThrow(
      /big\.bin is 17 MiB; the emulator takes at most 16 MiB of flash/,
    );
    // An app image alone (ESP32-C3 app at 0x10000 in a merged image, nothing at 0x0) or an ESP32 id at 0x0.
    for (const img of [new Uint8Array(0x20000), merged(0, 0), merged(0x1000, 5), merged(0, 9)])
      expect(() => checkEmulatorImage('x.bin', img)).toThrow(EmulatorImageError);
    expect(() => checkEmulatorImage('x.bin', merged(0, 0))).toThrow(
      /x\.bin is not a merged flash image for the ESP32-C3 or ESP32: it has no bootloader at 0x0 \(ESP32-C3\) or 0x1000 \(ESP32\)/,
    );
  });
});
