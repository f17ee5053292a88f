import type { ESPLoader } from 'esptool-js';

const WRITE_REG = 0x09;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/**
 * Run `fn` with the loader's register writes gathered into one WRITE_REG command per run of writes, sent
 * before the next register read (and at the end), in their order. WRITE_REG takes any number of
 * (address, value, mask, delay) entries and applies them in order: esptool itself sends two in one command
 * for a write with a delay after it. esptool-js's flash-id read (SPI user command) does seven writes and
 * four reads one round trip each; batched, that is six round trips instead of eleven.
 */
export async function withBatchedRegisterWrites<T>(loader: ESPLoader, fn: () => Promise<T>): Promise<T> {
  const read = loader.readReg.bind(loader);
  let pending: number[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const entries = new Uint8Array(pending);
    pending = [];
    await loader.checkCommand('write target memory', WRITE_REG, entries);
  };
  loader.writeReg = async (addr: number, value: number, mask = 0xffffffff, delayUs = 0, delayAfterUs = 0) => {
    pending.push(...le32(addr), ...le32(value), ...le32(mask), ...le32(delayUs));
    if (delayAfterUs > 0)
      pending.push(...le32(loader.chip.UART_DATE_REG_ADDR), ...le32(0), ...le32(0), ...le32(delayAfterUs));
  };
  loader.readReg = async (addr: number, timeout?: number) => {
    await flush();
    return read(addr, timeout);
  };
  try {
    const result = await fn();
    await flush();
    return result;
  } finally {
    Reflect.deleteProperty(loader, 'writeReg');
    Reflect.deleteProperty(loader, 'readReg');
  }
}
