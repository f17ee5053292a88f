import type { ChannelLike } from './channel.js';

// Browser-safe: adapts the browser's RTCDataChannel without needing the DOM typings in this package.

/** The part of the browser's RTCDataChannel this adapter uses (structural, so the DOM's type fits). */
export interface BrowserDataChannel {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: string): void;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(): void;
  addEventListener(type: string, listener: (ev: { readonly type: string; data?: unknown }) => void): void;
  removeEventListener(type: string, listener: (ev: { readonly type: string; data?: unknown }) => void): void;
}

/**
 * The browser's data channel as a ChannelLike: binary frames arrive as Uint8Array (binaryType `arraybuffer`),
 * every subscription can be undone.
 */
export function wrapBrowserDataChannel(dc: BrowserDataChannel): ChannelLike {
  dc.binaryType = 'arraybuffer';
  const on = (type: string, listener: (ev: { readonly type: string; data?: unknown }) => void) => {
    dc.addEventListener(type, listener);
    return () => dc.removeEventListener(type, listener);
  };
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
    send(data) {
      if (typeof data === 'string') dc.send(data);
      else dc.send(data as Uint8Array<ArrayBuffer>);
    },
    close: () => dc.close(),
    onMessage: (cb) =>
      on('message', (ev) => {
        const d = ev.data;
        if (typeof d === 'string') cb(d);
        else if (d instanceof ArrayBuffer) cb(new Uint8Array(d));
        else if (ArrayBuffer.isView(d)) cb(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      }),
    onBufferedAmountLow: (cb) => on('bufferedamountlow', () => cb()),
    onClose(cb) {
      if (dc.readyState === 'closed') {
        queueMicrotask(cb);
        return () => undefined;
      }
      return on('close', () => cb());
    },
    onOpen(cb) {
      if (dc.readyState === 'open') {
        queueMicrotask(cb);
        return () => undefined;
      }
      return on('open', () => cb());
    },
  };
}
