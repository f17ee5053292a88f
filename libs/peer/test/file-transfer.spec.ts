import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileReceiver } from '../src/file-receiver.js';
import { fileSourceFromBuffer, sendFile } from '../src/file-transfer.js';
import { FirmwareClient, TransferInterruptedError } from '../src/firmware-client.js';
import { LimitedSender } from '../src/limited-sender.js';
import { channelPair } from './fake-channel.js';

/** A minimal machine side: answers `get` with sendFile, optionally closing the channel after `dropAfter` bytes. */
function serve(data: Buffer, ch: ReturnType<typeof channelPair>[0], dropAfter?: number) {
  const sender = new LimitedSender(ch);
  ch.onMessage((d) => {
    const { name, offset } = JSON.parse(d as string);
    void sendFile(sender, fileSourceFromBuffer(name, data), offset, { chunkBytes: 4096 }).catch(() => undefined);
  });
  if (dropAfter !== undefined) {
    let sent = 0;
    const orig = ch.send.bind(ch);
    ch.send = (d) => {
      if (typeof d !== 'string') {
        sent += d.length;
        if (sent > dropAfter) return ch.close();
      }
      orig(d);
    };
  }
}

describe('firmware file transfer', () => {
  it('receives a file and checks its sha256', async () => {
    const data = randomBytes(100_000);
    const [m, c] = channelPair('firmware');
    serve(data, m);
    const f = await new FirmwareClient(c).fetch('app.bin');
    expect(f.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(Buffer.from(f.data).equals(data)).toBe(true);
  });

  it('resumes from the bytes it has after a drop', async () => {
    const data = randomBytes(50_000);
    const [m1, c1] = channelPair('firmware');
    serve(data, m1, 20_000);
    const err = await new FirmwareClient(c1).fetch('app.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferInterruptedError);
    const partial = (err as TransferInterruptedError).partial;
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(data.length);
    const [m2, c2] = channelPair('firmware');
    serve(data, m2);
    const f = await new FirmwareClient(c2).fetch('app.bin', { resumeFrom: partial });
    expect(Buffer.from(f.data).equals(data)).toBe(true);
  });

  it('detects corruption', async () => {
    const rx = new FileReceiver('x');
    rx.handleFrame(JSON.stringify({ type: 'header', name: 'x', size: 3, sha256: '0'.repeat(64), offset: 0 }));
    rx.handleFrame(Buffer.from('abc'));
    rx.handleFrame(JSON.stringify({ type: 'end', name: 'x', size: 3 }));
    await expect(rx.done).rejects.toMatchObject({ code: 'sha256_mismatch' });
  });

  it('reports a machine error frame', async () => {
    const rx = new FileReceiver('x');
    rx.handleFrame(JSON.stringify({ type: 'error', error: { code: 'not_found', message: 'No artifact named x.' } }));
    await expect(rx.done).rejects.toMatchObject({ code: 'not_found' });
  });
});
