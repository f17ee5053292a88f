import { FlashError, HARD_RESET_SEQUENCE, resetPlan, targetOfChipName, type SerialPortLike } from '@aegis/flasher';
import { changeBaudFast } from '@aegis/flasher/baud-change';
import { detectChip } from '@aegis/flasher/chip-detect';
import { isPortBusyError, portBusy } from '@aegis/flasher/errors';
import { QuietTransport } from '@aegis/flasher/quiet-transport';
import type { Target } from '@aegis/protocol';
import { ESPError, ESPLoader } from 'esptool-js';

/** What a connected board says it is. */
export interface BoardIdentity {
  chip: Target;
  chipDescription: string;
  flashSize: number;
}

const ROM_BAUD = 115200;

/**
 * One loader session for the board tools (identify, erase, read): connect with the right reset, identify the chip,
 * raise the baud, run the stub, measure the flash; then `op`; then reset into the app and close the port. The
 * flash itself goes through @aegis/flasher's `flash()`; these are the other things esptool does to a board.
 */
async function withLoader<T>(
  port: SerialPortLike,
  o: { baud: number; onLog?: (line: string) => void; signal?: AbortSignal },
  op: (loader: ESPLoader, id: BoardIdentity) => Promise<T>,
): Promise<T> {
  if (port.readable || port.writable) throw portBusy();
  const plan = resetPlan('auto', port);
  const transport = new QuietTransport(port);
  const log = o.onLog ?? (() => {});
  const loader = new ESPLoader({
    transport,
    baudrate: o.baud,
    romBaudrate: ROM_BAUD,
    terminal: { clean: () => {}, writeLine: (s: string) => log(s), write: (s: string) => log(s) },
    resetConstructors: plan.constructors as never,
  });
  const abort = () => {
    if (o.signal?.aborted) throw new FlashError('aborted', 'Cancelled; nothing was changed on the board.');
  };
  try {
    try {
      await loader.connect(plan.mode, 7, false);
      await detectChip(loader);
    } catch (e) {
      if (isPortBusyError(e)) throw portBusy();
      if (e instanceof ESPError)
        throw new FlashError(
          'no_sync',
          'The board did not answer in download mode; hold BOOT (IO0), press and release RESET (EN), then release BOOT and try again.',
        );
      throw e;
    }
    abort();
    const chip = targetOfChipName(loader.chip.CHIP_NAME);
    if (!chip) throw new FlashError('wrong_chip', `This board is an ${loader.chip.CHIP_NAME}, which is not supported.`);
    if (o.baud !== ROM_BAUD && !(await changeBaudFast(loader, transport, o.baud, ROM_BAUD))) {
      log(`Unable to use ${o.baud} baud. Continuing at ${ROM_BAUD} baud.`);
      await transport.disconnect();
      await loader.connect(plan.mode, 7, false);
    }
    const chipDescription = await loader.chip.getChipDescription(loader);
    if (loader.chip.postConnect) await loader.chip.postConnect(loader);
    await loader.runStub();
    const sizeName = await loader.detectFlashSize();
    const flashSize = sizeName ? loader.flashSizeBytes(sizeName as Parameters<ESPLoader['flashSizeBytes']>[0]) : -1;
    if (flashSize <= 0)
      throw new FlashError('flash_failed', 'The flash chip did not identify itself; check the board.');
    abort();
    const result = await op(loader, { chip, chipDescription, flashSize });
    await loader.after('custom_reset', undefined, HARD_RESET_SEQUENCE);
    return result;
  } catch (e) {
    if (e instanceof FlashError) throw e;
    throw new FlashError('flash_failed', `The board did not finish: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (port.readable || port.writable) await transport.disconnect().catch(() => port.close().catch(() => {}));
  }
}

/** Connect and report the chip and its flash size (DIY mode picks files for it). */
export function identifyBoard(
  port: SerialPortLike,
  o: { baud: number; onLog?: (l: string) => void; signal?: AbortSignal },
) {
  return withLoader(port, o, async (_l, id) => id);
}

/** Erase the whole flash chip (every byte becomes 0xFF), as `esptool.py erase_flash`. */
export function eraseBoard(
  port: SerialPortLike,
  o: { baud: number; onLog?: (l: string) => void; signal?: AbortSignal },
) {
  return withLoader(port, o, async (loader, id) => {
    await loader.eraseFlash();
    return id;
  });
}

/** Read `length` bytes of flash at `offset` (a backup, or to check what the board holds), as `esptool.py read_flash`. */
export function readBoardFlash(
  port: SerialPortLike,
  offset: number,
  length: number,
  o: { baud: number; onLog?: (l: string) => void; onProgress?: (read: number) => void; signal?: AbortSignal },
) {
  return withLoader(port, o, async (loader, id) => {
    if (offset + length > id.flashSize)
      throw new FlashError(
        'part_beyond_flash',
        `0x${offset.toString(16)} + 0x${length.toString(16)} ends beyond this board's ${id.flashSize / 1048576} MB flash.`,
      );
    const data = await loader.readFlash(offset, length, (_p, got) => o.onProgress?.(got));
    return { identity: id, data: data.slice(0, length) };
  });
}
