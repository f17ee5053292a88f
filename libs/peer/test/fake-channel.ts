import type { MessageChannelLike } from '../src/werift-channel.js';

/** Two connected in-memory channels; messages arrive asynchronously, like a data channel. */
export function channelPair(label = 'test'): [FakeChannel, FakeChannel] {
  const a = new FakeChannel(label);
  const b = new FakeChannel(label);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class FakeChannel implements MessageChannelLike {
  peer?: FakeChannel;
  readyState: MessageChannelLike['readyState'] = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  sent: (string | Buffer)[] = [];
  private msg = new Set<(d: string | Buffer) => void>();
  private low = new Set<() => void>();
  private closed = new Set<() => void>();
  constructor(readonly label: string) {}
  send(data: string | Uint8Array) {
    if (this.readyState !== 'open') throw new Error('closed');
    // Node's end sees Buffers, as werift delivers them.
    const copy = typeof data === 'string' ? data : Buffer.from(data);
    this.sent.push(copy);
    setImmediate(() => this.peer?.msg.forEach((cb) => cb(copy)));
  }
  /** Closes both ends; the peer sees it after the messages already in flight, like SCTP. */
  close() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.closed.forEach((cb) => cb());
    const peer = this.peer;
    setImmediate(() => {
      if (!peer || peer.readyState === 'closed') return;
      peer.readyState = 'closed';
      peer.closed.forEach((cb) => cb());
    });
  }
  emitLow() {
    this.low.forEach((cb) => cb());
  }
  onMessage(cb: (d: string | Buffer) => void) {
    this.msg.add(cb);
    return () => this.msg.delete(cb);
  }
  onBufferedAmountLow(cb: () => void) {
    this.low.add(cb);
    return () => this.low.delete(cb);
  }
  onClose(cb: () => void) {
    this.closed.add(cb);
    return () => this.closed.delete(cb);
  }
  onOpen(cb: () => void) {
    queueMicrotask(cb);
    return () => undefined;
  }
}

/** A clock that only moves when sleeping: lets rate tests run instantly and exactly. */
export function virtualClock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    get elapsed() {
      return t;
    },
  };
}
