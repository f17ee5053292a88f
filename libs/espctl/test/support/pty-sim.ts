import pty from 'node-pty';
import { SimDevice } from '@aegis/device-sim';

export interface PtySim {
  /** The pseudo-terminal's slave side, e.g. /dev/pts/3: what espctl opens as its serial port. */
  path: string;
  device: SimDevice;
  close(): void;
}

/**
 * A simulated ESP32-C3 behind a real pseudo-terminal: node-pty holds the master (the sim's side of the wire),
 * a `sleep` child keeps the slave alive, and espctl opens the slave with Node serialport like a USB-UART.
 * A pty has no DTR/RTS, so the device starts in download mode (like the sim's TCP server); `device.pressReset()`
 * stands for the board's RESET button.
 */
export function startPtySim(): PtySim {
  const device = new SimDevice({ chip: 'esp32c3', startInDownloadMode: true, baudAgnostic: true });
  const term = pty.spawn('sleep', ['3600'], { name: 'dumb', cols: 80, rows: 24, encoding: null });
  const link = device.attachHost((bytes) => term.write(Buffer.from(bytes)), device.baud);
  term.onData((d) => link.write(new Uint8Array(d as unknown as Buffer)));
  const path = (term as unknown as { ptsName: string }).ptsName;
  return {
    path,
    device,
    close: () => {
      link.close();
      term.kill();
    },
  };
}
