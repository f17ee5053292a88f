import type { ESPLoader } from 'esptool-js';

/**
 * Write one compressed range with FLASH_DEFL_BEGIN / DATA…, as esptool-js's writeFlash does but
 * without its per-byte progress inflate (about a second of CPU per MiB, spent between blocks while the
 * line sits idle). `onBlock` gets the compressed bytes sent so far; `beforeBlock` may throw to stop (abort).
 */
export async function writeCompressedRange(
  loader: ESPLoader,
  address: number,
  rawLength: number,
  compressed: Uint8Array,
  onBlock: (sent: number, total: number) => void,
  beforeBlock: () => void = () => {},
): Promise<void> {
  const blockSize = loader.FLASH_WRITE_SIZE;
  await loader.flashDeflBegin(rawLength, compressed.length, address);
  // esptool's budget: 40 s per MB of flash written; a block inflates to about blockSize × ratio bytes.
  const ratio = compressed.length > 0 ? rawLength / compressed.length : 1;
  const timeout = loader.timeoutPerMb(loader.ERASE_WRITE_TIMEOUT_PER_MB, blockSize * ratio);
  onBlock(0, compressed.length);
  let seq = 0;
  for (let off = 0; off < compressed.length; off += blockSize) {
    beforeBlock();
    const block = compressed.subarray(off, Math.min(compressed.length, off + blockSize));
    await loader.flashDeflBlock(block, seq++, timeout);
    onBlock(off + block.length, compressed.length);
  }
  // No FLASH_DEFL_END: esptool.py's write_flash does not send one per file either (it verifies each file by
  // MD5 right after its last block; the stub has written it all by then) and the session ends in a hard reset.
  // In the ROM, FLASH_DEFL_END would leave the loader.
}
