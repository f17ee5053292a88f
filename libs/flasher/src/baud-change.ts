import type { ESPLoader } from 'esptool-js';
import type { QuietTransport } from './quiet-transport.js';

const CHANGE_BAUDRATE = 0x0f;
const CHIP_DETECT_MAGIC_REG = 0x40001000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** ESP32: RTC calibration register and the eFuse word holding EFUSE_RD_CK8M_FREQ (esptool targets/esp32.py). */
const ESP32_RTCCALICFG1 = 0x3ff5f06c;
const ESP32_EFUSE_WORD4 = 0x3ff5a000 + 4 * 4;
/** ESP32-C2: UART0 clock divider, from which esptool infers the crystal. */
const ESP32C2_UART_CLKDIV_REG = 0x60000014;

/**
 * The value to send with CHANGE_BAUDRATE so the chip ends up at `baud`, as esptool 4.8.1 computes it. The stub
 * knows its real clock; the ROMs do not:
 * - ESP32 ROM: it derives its crystal from the drifting 8 MHz RC; esptool recomputes that estimate from the
 *   calibration register and eFuse and scales the rate by estimate / real crystal (ESP32ROM.change_baud).
 * - ESP32-C2 ROM: it always assumes a 40 MHz crystal; on a 26 MHz board the rate is scaled by 40/26
 *   (ESP32C2ROM.change_baud).
 */
export async function romBaudArgument(loader: ESPLoader, baud: number, romBaud: number): Promise<number> {
  if (loader.IS_STUB) return baud;
  const chip = loader.chip.CHIP_NAME;
  if (chip === 'ESP32') {
    const cali = ((await loader.readReg(ESP32_RTCCALICFG1)) >>> 7) & 0x1ffffff;
    const ck8m = (await loader.readReg(ESP32_EFUSE_WORD4)) & 0xff;
    const romXtal = (cali * 15625 * ck8m) / 40;
    if (romXtal === 0) return baud; // nothing to correct by (the eFuse is blank)
    const realXtal = romXtal > 33_000_000 ? 40_000_000 : 26_000_000;
    return Math.floor((baud * romXtal) / realXtal);
  }
  if (chip === 'ESP32-C2') {
    const div = (await loader.readReg(ESP32C2_UART_CLKDIV_REG)) & 0xfffff;
    const xtalMhz = (romBaud * div) / 1e6;
    if (xtalMhz <= 33) return Math.floor((baud * 40) / 26);
  }
  return baud;
}

/**
 * CHANGE_BAUDRATE, then switch the host side and probe with a register read. Same protocol as
 * esptool-js's changeBaud, without its fixed 250 ms of sleeps and drain (esptool.py waits 50 ms; the probe
 * and its retries cover garbage from the switch). Works in the ROM too (with esptool's per-chip crystal
 * corrections), so the stub upload can run fast. Returns false when the link does not work at the new rate;
 * the caller then falls back to the ROM baud.
 */
export async function changeBaudFast(
  loader: ESPLoader,
  transport: QuietTransport,
  baud: number,
  romBaud: number,
): Promise<boolean> {
  let arg: number;
  try {
    arg = await romBaudArgument(loader, baud, romBaud);
  } catch {
    return false;
  }
  const pkt = new Uint8Array([...le32(arg), ...le32(loader.IS_STUB ? romBaud : 0)]);
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
