import type { SimDevice, SimSerialPort } from '@aegis/device-sim';

/**
 * The "virtual board": a simulated ESP32-C3 (ROM loader, flasher stub, flash, boot log) from libs/device-sim
 * behind a Web Serial port shim, living in this tab. One per tab, so a second flash shows the sector-diff.
 */
let board: Promise<{ device: SimDevice; port: SimSerialPort }> | null = null;

export function virtualBoard() {
  board ??= import('@aegis/device-sim').then(({ SimDevice, SimSerialPort }) => {
    const device = new SimDevice({ chip: 'esp32c3', flashSize: 4 * 1024 * 1024 });
    return { device, port: new SimSerialPort(device) };
  });
  return board;
}
