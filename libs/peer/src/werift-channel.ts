import type { RTCDataChannel } from 'werift';
import type { ChannelLike } from './channel.js';

// Node only (werift): the browser never imports this module.

/** A channel whose binary frames arrive as Node Buffers (werift's, and the machine's handlers rely on it). */
export type MessageChannelLike = ChannelLike<Buffer>;

/** werift's send wants a Buffer; the shared clients hand it plain Uint8Arrays. */
const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

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
    send: (data) => dc.send(typeof data === 'string' ? data : asBuffer(data)),
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
