import type { SerialPortLike } from '@aegis/flasher';
import { WorkerSerialPort } from './worker-serial-port';

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
        return { port: new WorkerSerialPort(worker), where: 'worker' as const };
      } catch {
        // fall through to the in-page board
      }
    }
    const { SimDevice, SimSerialPort } = await import('@aegis/device-sim');
    const device = new SimDevice({ chip: 'esp32c3', flashSize: 4 * 1024 * 1024 });
    return { port: new SimSerialPort(device) as SerialPortLike, where: 'page' as const };
  })();
  return board;
}
