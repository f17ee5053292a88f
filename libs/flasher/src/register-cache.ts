import type { ESPLoader } from 'esptool-js';

/**
 * Run `fn` with the loader's register reads remembered in `cache`. For identity registers only (eFuse words,
 * the USB buffer number): they cannot change within a session, yet esptool-js's chip description and its
 * stub selection read the same words up to three times each, one round trip per read. Never around a link
 * probe or SPI register work, where a read must reach the chip.
 */
export async function withRegisterCache<T>(
  loader: ESPLoader,
  cache: Map<number, number>,
  fn: () => Promise<T>,
): Promise<T> {
  const read = loader.readReg.bind(loader);
  loader.readReg = async (addr: number, timeout?: number) => {
    const known = cache.get(addr);
    if (known !== undefined) return known;
    const value = await read(addr, timeout);
    cache.set(addr, value);
    return value;
  };
  try {
    return await fn();
  } finally {
    // Back to the prototype's method.
    Reflect.deleteProperty(loader, 'readReg');
  }
}
