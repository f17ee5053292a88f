import type { SerialPortLike } from '@aegis/flasher';
import { SimSerialPort } from '@aegis/device-sim/web-serial-port';
import { remoteDevice } from '@aegis/device-sim/worker-bridge';

/**
 * The "virtual board": a simulated ESP32-C3 from libs/device-sim, one per tab (so a second flash shows the
 * sector-diff). It runs in a Web Worker; where workers are unavailable it runs on the page instead.
 */
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
    const device = new SimDevice({ chip: 'esp32c3', flashSize: 4 * 1024 * 1024 });
    return { port: new SimSerialPort(device) as SerialPortLike, where: 'page' as const };
  })();
  return board;
}
