import type { SerialPortLike } from '@aegis/flasher';
import { SimSerialPort } from '@aegis/device-sim/web-serial-port';
import { remoteDevice } from '@aegis/device-sim/worker-bridge';

/**
 * The "virtual board": a simulated ESP32-C3 from libs/device-sim, one per tab (so a second flash shows the
 * sector-diff). It runs in a Web Worker; where workers are unavailable it runs on the page instead.
 */
/** The one chip the virtual board simulates (here and in virtual-board.worker.ts). */
export const VIRTUAL_BOARD_CHIP = 'esp32c3';

/** Whether firmware for `chip` can go onto the virtual board (unknown chip: let the flasher's chip check decide). */
export function virtualBoardTakes(chip: string | null | undefined): boolean {
  return !chip || chip === VIRTUAL_BOARD_CHIP;
}

let board: Promise<{ port: SerialPortLike; where: 'worker' | 'page' }> | null = null;

export function virtualBoard() {
  board ??= (async () => {
    if (typeof Worker !== 'undefined') {
      try {
        const worker = new Worker(new URL('./virtual-board.worker.ts', import.meta.url), { type: 'module' });
        return { port: new SimSerialPort(remoteDevice(worker)) as SerialPortLike, where: 'worker' as const };
      } catch {
        // fall through to the in-page board
      }
    }
    const { SimDevice } = await import('@aegis/device-sim/device');
    const device = new SimDevice({ chip: VIRTUAL_BOARD_CHIP, flashSize: 4 * 1024 * 1024 });
    return { port: new SimSerialPort(device) as SerialPortLike, where: 'page' as const };
  })();
  return board;
}
