import { md5 } from '@noble/hashes/legacy.js';

/** WebCrypto has no MD5, and esptool's SPI_FLASH_MD5 is what the chip computes: hence noble's. */
export function md5Hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of md5(bytes)) s += b.toString(16).padStart(2, '0');
  return s;
}
