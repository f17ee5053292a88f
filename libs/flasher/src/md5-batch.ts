import type { ESPLoader } from 'esptool-js';
import { le32, toHex, type FlashRange } from '@aegis/esp';
import type { QuietTransport } from './quiet-transport.js';

const SPI_FLASH_MD5 = 0x13;
/**
 * Requests in flight at once. The stub receives the next command into its second buffer while it works on
 * the current one, so two overlap the round trip without overrunning it.
 */
const DEPTH = 2;

/**
 * SPI_FLASH_MD5 for several ranges, pipelined with the stub. The ROM (hex-text replies, which esptool-js
 * 0.7.0 hex-encodes again) is asked one range at a time.
 */
export async function deviceMd5Batch(
  loader: ESPLoader,
  transport: QuietTransport,
  ranges: FlashRange[],
): Promise<string[]> {
  if (!loader.IS_STUB) {
    const out: string[] = [];
    for (const r of ranges) out.push(fromRom(await loader.flashMd5sum(r.offset, r.size)));
    return out;
  }
  const out: string[] = [];
  let sent = 0;
  transport.flushInput();
  while (out.length < ranges.length) {
    while (sent < ranges.length && sent - out.length < DEPTH) {
      const r = ranges[sent++];
      const body = [...le32(r.offset), ...le32(r.size), ...le32(0), ...le32(0)];
      await transport.write(new Uint8Array([0x00, SPI_FLASH_MD5, body.length, 0, 0, 0, 0, 0, ...body]));
    }
    const timeout = loader.timeoutPerMb(8000, ranges[out.length].size);
    const [, data] = await loader.readPacket(SPI_FLASH_MD5, timeout);
    if (data.length < 18 || data[16] !== 0) {
      throw new Error(
        `SPI_FLASH_MD5 of 0x${ranges[out.length].offset.toString(16)} failed (status ${data[16]}, ${data[17]}).`,
      );
    }
    out.push(toHex(data.subarray(0, 16)));
  }
  return out;
}

/** The ROM's reply is 32 ASCII hex digits, which esptool-js returns hex-encoded once more. */
function fromRom(r: string): string {
  if (r.length === 64) return String.fromCharCode(...(r.match(/../g) ?? []).map((h) => parseInt(h, 16))).toLowerCase();
  return r.toLowerCase();
}
