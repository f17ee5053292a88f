import type { RTCDataChannel } from 'werift';

/** What a sender and a receiver need from a data channel; werift's and a test fake both fit. */
export interface MessageChannelLike {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: string | Buffer): void;
  close(): void;
  /** Each returns an unsubscribe function. */
  onMessage(cb: (data: string | Buffer) => void): () => void;
  onBufferedAmountLow(cb: () => void): () => void;
  onClose(cb: () => void): () => void;
  onOpen(cb: () => void): () => void;
}

/** Adapts a werift RTCDataChannel to MessageChannelLike. */
export function wrapDataChannel(dc: RTCDataChannel): MessageChannelLike {
  return {
    get label() {
      return dc.label;
    },
    get readyState() {
      return dc.readyState;
    },
    get bufferedAmount() {
      return dc.bufferedAmount;
    },
    get bufferedAmountLowThreshold() {
      return dc.bufferedAmountLowThreshold;
    },
    set bufferedAmountLowThreshold(v: number) {
      dc.bufferedAmountLowThreshold = v;
    },
    send: (data) => dc.send(data),
    close: () => dc.close(),
    onMessage(cb) {
      const { unSubscribe } = dc.onMessage.subscribe((d) => cb(d));
      return unSubscribe;
    },
    onBufferedAmountLow(cb) {
      const { unSubscribe } = dc.bufferedAmountLow.subscribe(() => cb());
      return unSubscribe;
    },
    onClose(cb) {
      if (dc.readyState === 'closed') {
        queueMicrotask(cb);
        return () => undefined;
      }
      const { unSubscribe } = dc.stateChanged.subscribe((s) => {
        if (s === 'closed') cb();
      });
      return unSubscribe;
    },
    onOpen(cb) {
      if (dc.readyState === 'open') {
        queueMicrotask(cb);
        return () => undefined;
      }
      const { unSubscribe } = dc.stateChanged.subscribe((s) => {
        if (s === 'open') cb();
      });
      return unSubscribe;
    },
  };
}

/** Resolves when the channel is open; rejects if it closes first. */
export function waitOpen(ch: MessageChannelLike, timeoutMs = 10_000): Promise<void> {
  if (ch.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`channel ${ch.label} did not open within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const offOpen = ch.onOpen(() => done());
    const offClose = ch.onClose(() => done(new Error(`channel ${ch.label} closed before it opened`)));
    function done(err?: Error) {
      clearTimeout(timer);
      offOpen();
      offClose();
      if (err) reject(err);
      else resolve();
    }
  });
}
