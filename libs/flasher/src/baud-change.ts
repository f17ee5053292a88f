import type { ESPLoader } from 'esptool-js';
import type { QuietTransport } from './quiet-transport.js';

const CHANGE_BAUDRATE = 0x0f;
const CHIP_DETECT_MAGIC_REG = 0x40001000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/**
 * CHANGE_BAUDRATE, then switch the host side and probe with a register read. Same protocol as
 * esptool-js's changeBaud, without its fixed 250 ms of sleeps and drain (esptool.py waits 50 ms; the probe
 * and its retries cover garbage from the switch). Works in the ROM too, so the stub upload can run fast.
 * Returns false when the link does not work at the new rate; the caller then falls back to the ROM baud.
 */
export async function changeBaudFast(
  loader: ESPLoader,
  transport: QuietTransport,
  baud: number,
  romBaud: number,
): Promise<boolean> {
  const pkt = new Uint8Array([...le32(baud), ...le32(loader.IS_STUB ? romBaud : 0)]);
  try {
    await loader.command(CHANGE_BAUDRATE, pkt);
  } catch {
    return false;
  }
  // The chip switches once its reply has left; give the last bytes a moment before the host switches.
  await sleep(5);
  try {
    await transport.switchBaud(baud);
  } catch {
    return false;
  }
  await sleep(20);
  transport.flushInput();
  for (let i = 0; i < 3; i++) {
    try {
      await loader.readReg(CHIP_DETECT_MAGIC_REG, 100);
      return true;
    } catch {
      transport.flushInput();
    }
  }
  return false;
}
