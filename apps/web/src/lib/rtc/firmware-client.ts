import { FirmwareServerMessage } from '@aegis/protocol';
import { sha256Hex } from './hex';

export interface Download {
  name: string;
  bytes: Uint8Array;
  sha256: string;
}

/**
 * Fetches one file over the `firmware` channel: `get` → `header` → binary chunks → `end`. The sha256 from the
 * header is checked before the bytes are handed out. One transfer at a time; calls are queued.
 */
export class FirmwareClient {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly dc: RTCDataChannel) {}

  get(name: string, onProgress?: (got: number, total: number) => void): Promise<Download> {
    const run = this.queue.then(() => this.fetchOne(name, onProgress));
    this.queue = run.catch(() => {});
    return run;
  }

  private fetchOne(name: string, onProgress?: (got: number, total: number) => void): Promise<Download> {
    const dc = this.dc;
    return new Promise((resolve, reject) => {
      let header: { size: number; sha256: string; offset: number } | null = null;
      let buf: Uint8Array | null = null;
      let got = 0;
      const cleanup = () => {
        dc.removeEventListener('message', onMessage);
        dc.removeEventListener('close', onClose);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`The firmware channel closed while downloading ${name} (${got} bytes received).`));
      };
      const onMessage = (e: MessageEvent) => {
        if (typeof e.data !== 'string') {
          if (!header || !buf) return;
          const chunk = new Uint8Array(e.data as ArrayBuffer);
          if (got + chunk.length > buf.length) {
            cleanup();
            reject(new Error(`The machine sent more bytes for ${name} than announced.`));
            return;
          }
          buf.set(chunk, got);
          got += chunk.length;
          onProgress?.(got, buf.length);
          return;
        }
        let raw: unknown;
        try {
          raw = JSON.parse(e.data);
        } catch {
          return;
        }
        const m = FirmwareServerMessage.safeParse(raw);
        if (!m.success) return;
        if (m.data.type === 'header') {
          header = m.data;
          buf = new Uint8Array(m.data.size);
          got = m.data.offset;
        } else if (m.data.type === 'error') {
          cleanup();
          reject(Object.assign(new Error(m.data.error.message), { code: m.data.error.code }));
        } else if (m.data.type === 'end') {
          cleanup();
          if (!header || !buf || got !== buf.length) {
            reject(new Error(`The download of ${name} ended early (${got} of ${buf?.length ?? '?'} bytes).`));
            return;
          }
          const bytes = buf;
          const expected = header.sha256;
          void sha256Hex(bytes).then((actual) =>
            actual === expected
              ? resolve({ name, bytes, sha256: actual })
              : reject(
                  new Error(`${name} arrived corrupted: sha256 ${actual.slice(0, 12)}… ≠ ${expected.slice(0, 12)}….`),
                ),
          );
        }
      };
      dc.addEventListener('message', onMessage);
      dc.addEventListener('close', onClose);
      dc.send(JSON.stringify({ type: 'get', name, offset: 0 }));
    });
  }
}
