import { describe, expect, it } from 'vitest';
import { EmulatorClientMessage, MAX_FRAME_BYTES, type EmulatorServerMessage } from '@aegis/protocol';
import { EmulatorClient, EmulatorError } from '../src/emulator-client.js';
import { channelPair, type FakeChannel } from './fake-channel.js';

/** The machine's end: records what the client sent and answers with server frames. */
function machine(ch: FakeChannel) {
  const json: unknown[] = [];
  const binary: Buffer[] = [];
  ch.onMessage((d) => (typeof d === 'string' ? json.push(JSON.parse(d)) : binary.push(d)));
  return {
    json,
    binary,
    send: (m: EmulatorServerMessage) => ch.send(JSON.stringify(m)),
    until: async (pred: () => boolean) => {
      while (!pred()) await new Promise((r) => setImmediate(r));
    },
  };
}

describe('EmulatorClient', () => {
  it('starts the job image, streams output both ways, and resolves stop with the exit frame', async () => {
    const [c, s] = channelPair('emulator');
    const m = machine(s);
    const client = new EmulatorClient(c);
    const out: string[] = [];
    client.onOutput((b) => out.push(Buffer.from(b).toString()));
    const started = client.start({ seconds: 3 });
    await m.until(() => m.json.length === 1);
    expect(EmulatorClientMessage.parse(m.json[0])).toEqual({ type: 'start', image: 'job', seconds: 3 });
    m.send({ type: 'ready', chip: 'esp32c3', flash_bytes: 4 << 20, seconds: 3 });
    await expect(started).resolves.toEqual({ chip: 'esp32c3', flash_bytes: 4 << 20, seconds: 3 });
    s.send(Buffer.from('Hello world!\n'));
    await client.write('abc');
    await m.until(() => m.binary.length === 1 && out.length === 1);
    expect(m.binary[0]!.toString()).toBe('abc');
    expect(out).toEqual(['Hello world!\n']);

    const stopped = client.stop();
    await m.until(() => m.json.length === 2);
    expect(m.json[1]).toEqual({ type: 'stop' });
    m.send({ type: 'exit', reason: 'stopped', code: null });
    await expect(stopped).resolves.toEqual({ reason: 'stopped', code: null });
    // Already exited: answers at once with the last exit.
    await expect(client.stop()).resolves.toEqual({ reason: 'stopped', code: null });
    expect(m.json).toHaveLength(2);
  });

  it('sends a client image in frames no larger than the limit, right after start', async () => {
    const [c, s] = channelPair('emulator');
    const m = machine(s);
    const client = new EmulatorClient(c);
    const image = new Uint8Array(MAX_FRAME_BYTES * 2 + 10).map((_, i) => i & 0xff);
    const started = client.start({ image });
    await m.until(() => m.binary.reduce((n, b) => n + b.length, 0) === image.length);
    expect(m.json[0]).toEqual({ type: 'start', image: 'client', image_bytes: image.length });
    expect(m.binary.map((b) => b.length)).toEqual([MAX_FRAME_BYTES, MAX_FRAME_BYTES, 10]);
    expect(Buffer.concat(m.binary).equals(Buffer.from(image))).toBe(true);
    m.send({ type: 'ready', chip: 'esp32', flash_bytes: 2 << 20, seconds: 300 });
    await expect(started).resolves.toMatchObject({ chip: 'esp32' });
  });

  it('rejects start with the refusal, or an exit before ready, and notices a closed channel', async () => {
    const [c, s] = channelPair('emulator');
    const m = machine(s);
    const client = new EmulatorClient(c);
    const refused = client.start();
    m.send({ type: 'error', code: 'no_firmware', message: 'Build first.' });
    await expect(refused).rejects.toMatchObject({ code: 'no_firmware', message: 'Build first.' });
    await expect(refused).rejects.toBeInstanceOf(EmulatorError);

    const early = client.start();
    m.send({ type: 'exit', reason: 'exited', code: 1, detail: 'qemu failed' });
    await expect(early).rejects.toMatchObject({ code: 'exit_exited' });

    const resets: number[] = [];
    client.onReady((r) => resets.push(r.seconds));
    const again = client.start();
    m.send({ type: 'ready', chip: 'esp32c3', flash_bytes: 4 << 20, seconds: 5 });
    await again;
    const reset = client.reset();
    await m.until(() => m.json.length === 4);
    expect(m.json[3]).toEqual({ type: 'reset' });
    m.send({ type: 'ready', chip: 'esp32c3', flash_bytes: 4 << 20, seconds: 5 });
    // A reset resolves at the board's next `ready`, not when the frame is sent.
    await reset;
    expect(resets).toHaveLength(2);

    const exited = client.exited();
    s.close();
    await expect(exited).rejects.toMatchObject({ code: 'channel_closed' });
    await expect(client.start()).rejects.toMatchObject({ code: 'channel_closed' });
  });
});
