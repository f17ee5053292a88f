// Browser-safe (no werift, no Node built-ins): the dashboard's clients run on these types.

/**
 * What a sender and a receiver need from a data channel: werift's (werift-channel.ts), the browser's
 * (browser-channel.ts) and a test fake all fit. `B` is the type binary frames arrive as (a Buffer on Node).
 */
export interface ChannelLike<B extends Uint8Array = Uint8Array> {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: string | Uint8Array): void;
  close(): void;
  /** Each returns an unsubscribe function. */
  onMessage(cb: (data: string | B) => void): () => void;
  onBufferedAmountLow(cb: () => void): () => void;
  onClose(cb: () => void): () => void;
  onOpen(cb: () => void): () => void;
}

/** Resolves when the channel is open; rejects if it closes first. */
export function waitOpen(ch: ChannelLike, timeoutMs = 10_000): Promise<void> {
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
