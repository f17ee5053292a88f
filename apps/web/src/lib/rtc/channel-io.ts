/** Small helpers around RTCDataChannel: wait for open, and send respecting `bufferedAmount`. */
export const HIGH_WATER = 256 * 1024;

export function waitOpen(dc: RTCDataChannel, timeoutMs = 20_000): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => fail(new Error(`The ${dc.label} channel did not open within ${timeoutMs / 1000} s.`)),
      timeoutMs,
    );
    const done = () => {
      clearTimeout(t);
      dc.removeEventListener('open', done);
      dc.removeEventListener('close', onClose);
      resolve();
    };
    const fail = (e: Error) => {
      clearTimeout(t);
      dc.removeEventListener('open', done);
      dc.removeEventListener('close', onClose);
      reject(e);
    };
    const onClose = () => fail(new Error(`The ${dc.label} channel was closed by the build machine.`));
    dc.addEventListener('open', done);
    dc.addEventListener('close', onClose);
  });
}

/** Waits until the send buffer drains below the low-water mark, so bulk sends never balloon memory. */
export async function drain(dc: RTCDataChannel): Promise<void> {
  if (dc.bufferedAmount <= HIGH_WATER) return;
  dc.bufferedAmountLowThreshold = HIGH_WATER / 4;
  await new Promise<void>((resolve, reject) => {
    const onLow = () => {
      dc.removeEventListener('bufferedamountlow', onLow);
      dc.removeEventListener('close', onClose);
      resolve();
    };
    const onClose = () => {
      dc.removeEventListener('bufferedamountlow', onLow);
      reject(new Error(`The ${dc.label} channel closed during a transfer.`));
    };
    dc.addEventListener('bufferedamountlow', onLow);
    dc.addEventListener('close', onClose, { once: true });
  });
}

export async function sendChunked(
  dc: RTCDataChannel,
  data: Uint8Array,
  chunk: number,
  onProgress?: (sent: number) => void,
) {
  for (let off = 0; off < data.length; off += chunk) {
    await drain(dc);
    dc.send(data.slice(off, Math.min(off + chunk, data.length)));
    onProgress?.(Math.min(off + chunk, data.length));
  }
}
