import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { utf8ByteLength } from '../src/bytes.js';
import { wrapBrowserDataChannel } from '../src/browser-channel.js';
import { EspctlClient } from '../src/espctl-client.js';
import { FirmwareClient } from '../src/firmware-client.js';
import { FrameTooLargeError, LimitedSender } from '../src/limited-sender.js';
import { PtyClient } from '../src/pty-client.js';
import { MAX_FRAME_BYTES } from '@aegis/protocol';
import { virtualClock } from './fake-channel.js';

/** The browser's RTCDataChannel as the dashboard sees it: EventTarget, ArrayBuffer frames, the machine's end scripted. */
class BrowserChannel extends EventTarget {
  readyState: 'connecting' | 'open' | 'closing' | 'closed' = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  readonly sent: Array<string | Uint8Array> = [];
  onSend: (d: string | Uint8Array) => void = () => undefined;
  constructor(readonly label: string) {
    super();
  }
  send(data: string | Uint8Array) {
    // What a browser does: a view is copied into the frame as it is now.
    const d = typeof data === 'string' ? data : data.slice();
    this.sent.push(d);
    this.onSend(d);
  }
  close() {
    this.readyState = 'closed';
    this.dispatchEvent(new Event('close'));
  }
  fromMachine(data: string | Uint8Array) {
    const payload = typeof data === 'string' ? data : data.slice().buffer;
    queueMicrotask(() => this.dispatchEvent(new MessageEvent('message', { data: payload })));
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// The clients must work where there is no Buffer at all, as in a browser.
let realBuffer: typeof Buffer;
beforeEach(() => {
  realBuffer = Buffer;
  vi.stubGlobal('Buffer', undefined);
});
afterEach(() => {
  vi.unstubAllGlobals();
  expect(globalThis.Buffer).toBe(realBuffer);
});

describe('utf8ByteLength', () => {
  it('matches TextEncoder for ASCII, 2/3/4-byte characters and lone surrogates', () => {
    const enc = new TextEncoder();
    for (const s of [
      '',
      'abc',
      'é',
      '€',
      '😀',
      'a\u{10FFFF}b',
      '\uD800',
      'x\uDC00y',
      '\uD83D\uD83D',
      'ü€😀'.repeat(1000),
    ])
      expect(utf8ByteLength(s), JSON.stringify(s.slice(0, 8))).toBe(enc.encode(s).length);
  });
});

describe('LimitedSender on a browser data channel', () => {
  it('sizes text frames in UTF-8 bytes: a frame under the limit in characters but over it in bytes is refused', async () => {
    const dc = new BrowserChannel('espctl');
    const s = new LimitedSender(wrapBrowserDataChannel(dc));
    const text = '€'.repeat(Math.floor(MAX_FRAME_BYTES / 2)); // 32 Ki characters, 96 KiB of UTF-8
    await expect(s.send(text)).rejects.toBeInstanceOf(FrameTooLargeError);
    await expect(s.send(text)).rejects.toThrow(`A frame of ${3 * text.length} bytes`);
    expect(dc.sent).toHaveLength(0);
    await s.send('€'.repeat(100));
    expect(dc.sent).toEqual(['€'.repeat(100)]);
  });

  it('spends bandwidth tokens by UTF-8 bytes, not characters', async () => {
    const clock = virtualClock();
    const dc = new BrowserChannel('espctl');
    // 80 kbit/s = 10,000 B/s, burst 4096 B.
    const s = new LimitedSender(wrapBrowserDataChannel(dc), { maxBandwidthKbps: 80 }, clock);
    const frame = '😀'.repeat(2500); // 5000 UTF-16 units, 10,000 bytes
    for (let i = 0; i < 10; i++) void s.send(frame);
    await s.flush();
    expect(dc.sent).toHaveLength(10);
    // The first frame goes at once (into debt); each later one waits for its 10,000 bytes at 10,000 B/s.
    // Counting UTF-16 units would take half as long.
    const expectedMs = 9 * 1000;
    expect(clock.elapsed / expectedMs).toBeGreaterThan(0.97);
    expect(clock.elapsed / expectedMs).toBeLessThan(1.03);
  });

  it('sends binary frames as the Uint8Array it was given and waits while the buffer is full', async () => {
    const dc = new BrowserChannel('pty');
    const s = new LimitedSender(wrapBrowserDataChannel(dc));
    dc.bufferedAmount = 512 * 1024;
    const sent = s.send(new Uint8Array([1, 2, 3]));
    await tick();
    expect(dc.sent).toHaveLength(0);
    dc.bufferedAmount = 0;
    dc.dispatchEvent(new Event('bufferedamountlow'));
    await sent;
    expect(dc.sent).toEqual([new Uint8Array([1, 2, 3])]);
    expect(dc.bufferedAmountLowThreshold).toBe(64 * 1024);
  });
});

describe('channel clients on a browser data channel', () => {
  it('uploads a project over espctl: begin with size and sha256, chunks, end, with progress', async () => {
    const dc = new BrowserChannel('espctl');
    const tar = new Uint8Array(150_000).map((_, i) => (i * 7) & 0xff);
    const calls: Array<{ method: string; params: unknown }> = [];
    dc.onSend = (d) => {
      if (typeof d !== 'string') return;
      const m = JSON.parse(d) as { id: number; method: string; params: unknown };
      calls.push(m);
      const result = m.method === 'upload.begin' ? { max_chunk: 65_536 } : { files: 1, bytes: tar.length, dirs: 0 };
      dc.fromMachine(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
    };
    const client = new EspctlClient(wrapBrowserDataChannel(dc));
    expect(dc.binaryType).toBe('arraybuffer');
    const progress: number[] = [];
    await client.uploadProject(tar, { onProgress: (n) => progress.push(n) }).catch(() => undefined);
    expect(calls[0]).toMatchObject({ method: 'upload.begin', params: { size: tar.length, sha256: hex(tar) } });
    const chunks = dc.sent.filter((d): d is Uint8Array => typeof d !== 'string');
    expect(chunks.map((c) => c.length)).toEqual([65_536, 65_536, 150_000 - 2 * 65_536]);
    expect(progress).toEqual([65_536, 131_072, 150_000]);
    expect(calls.at(-1)?.method).toBe('upload.end');
  });

  it('downloads over firmware, sha256-checked, one request after another', async () => {
    const dc = new BrowserChannel('firmware');
    const files: Record<string, Uint8Array> = { a: new Uint8Array(70_000).fill(1), b: new TextEncoder().encode('bee') };
    dc.onSend = (d) => {
      const { name } = JSON.parse(d as string) as { name: string };
      const data = files[name];
      dc.fromMachine(JSON.stringify({ type: 'header', name, size: data.length, sha256: hex(data), offset: 0 }));
      for (let at = 0; at < data.length; at += 60_000) dc.fromMachine(data.subarray(at, at + 60_000));
      dc.fromMachine(JSON.stringify({ type: 'end', name, size: data.length }));
    };
    const fw = new FirmwareClient(wrapBrowserDataChannel(dc));
    // Asked at once: the second waits for the first instead of being refused.
    const [a, b] = await Promise.all([fw.fetch('a'), fw.fetch('b')]);
    expect(hex(a.data)).toBe(hex(files.a));
    expect(new TextDecoder().decode(b.data)).toBe('bee');
    expect(dc.sent.map((d) => JSON.parse(d as string))).toEqual([
      { type: 'get', name: 'a', offset: 0 },
      { type: 'get', name: 'b', offset: 0 },
    ]);
  });

  it('types into a terminal as UTF-8 bytes and stops listening when disposed', async () => {
    const dc = new BrowserChannel('pty');
    const pty = new PtyClient(wrapBrowserDataChannel(dc));
    const got: string[] = [];
    pty.onData((b) => got.push(new TextDecoder().decode(b)));
    await pty.open({ cols: 80, rows: 24 });
    await pty.write('ls ü\r');
    expect(dc.sent[0]).toBe(JSON.stringify({ type: 'open', cols: 80, rows: 24, command: 'shell' }));
    expect(dc.sent[1]).toEqual(new TextEncoder().encode('ls ü\r'));
    dc.fromMachine(new TextEncoder().encode('$ '));
    await tick();
    pty.dispose();
    dc.fromMachine(new TextEncoder().encode('after'));
    await tick();
    expect(got).toEqual(['$ ']);
  });
});

describe('frames that do not match the protocol schemas', () => {
  it('are reported with the field that is wrong, not dropped', async () => {
    const espctlDc = new BrowserChannel('espctl');
    const espctl = new EspctlClient(wrapBrowserDataChannel(espctlDc));
    const errors: string[] = [];
    espctl.on('error', (e) => errors.push(e.message));
    espctlDc.fromMachine(JSON.stringify({ jsonrpc: '2.0', method: 'log', params: { lines: [{ seq: 'x' }] } }));
    await tick();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^The machine sent a malformed log notification: lines\.0\.seq: /);

    const ptyDc = new BrowserChannel('pty');
    const pty = new PtyClient(wrapBrowserDataChannel(ptyDc));
    const ptyErrors: string[] = [];
    pty.onError((m) => ptyErrors.push(m));
    ptyDc.fromMachine(JSON.stringify({ type: 'exit', code: 'zero' }));
    await tick();
    expect(ptyErrors[0]).toMatch(/terminal frame this client does not understand: .*code/);
  });
});
