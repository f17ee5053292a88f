import { describe, expect, it } from 'vitest';
import type { LimitedSender } from '@aegis/peer';
import { FakeChannel } from '../../../libs/peer/test/fake-channel.js';
import { PTY_PAUSE_BYTES, servePty } from '../src/channels/pty-handler.js';
import type { BuildBackend } from '../src/build/backend.js';
import type { BuildJob } from '../src/jobs/build-job.js';
import type { Logger } from 'pino';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sender whose channel never drains until `release()`: the client stopped reading. */
function stalledSender() {
  let queued = 0;
  const waiting: Array<() => void> = [];
  const sender = {
    send(data: string | Buffer) {
      queued += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      return new Promise<void>((r) => waiting.push(r));
    },
    sendJson(v: unknown) {
      return sender.send(JSON.stringify(v));
    },
  };
  return {
    sender: sender as unknown as LimitedSender,
    queued: () => queued,
    release: () => waiting.splice(0).forEach((r) => r()),
  };
}

describe('terminal output against a client that stops reading (yes in the terminal)', () => {
  it('pauses the terminal at a bound instead of queueing without limit, and resumes when the client reads', async () => {
    const channel = new FakeChannel('pty');
    const s = stalledSender();
    const backend = {
      terminal: async () => ({ file: '/usr/bin/yes', args: ['flood'], env: { PATH: '/usr/bin:/bin' }, cwd: '/' }),
    } as unknown as BuildBackend;
    const log = { warn: () => undefined, info: () => undefined } as unknown as Logger;
    servePty({ job: { workspaceDir: '/nonexistent' } as BuildJob, backend, channel, sender: s.sender, log });
    const peer = new FakeChannel('pty');
    peer.peer = channel;
    peer.send(JSON.stringify({ type: 'open', cols: 80, rows: 24, command: 'shell' }));
    try {
      // yes writes far faster than this; without the bound the queue grows by tens of MiB a second.
      await sleep(1500);
      const first = s.queued();
      expect(first).toBeGreaterThan(PTY_PAUSE_BYTES);
      expect(first).toBeLessThan(PTY_PAUSE_BYTES + 256 * 1024);
      await sleep(500);
      expect(s.queued()).toBe(first); // paused: nothing more was read from the terminal
      s.release();
      await sleep(500);
      expect(s.queued()).toBeGreaterThan(first); // resumed once the client read
    } finally {
      channel.close();
      s.release();
    }
  });
});
