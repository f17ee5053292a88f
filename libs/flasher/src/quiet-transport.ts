import { Transport } from 'esptool-js';
import type { SerialPortLike } from './serial-port.js';

/** esptool-js's Transport logs "TRACE …" lines to the console even with tracing off; keep them behind the flag. */
export class QuietTransport extends Transport {
  constructor(port: SerialPortLike, tracing = false) {
    super(port as never, tracing);
  }

  override trace(message: string): void {
    if (this.tracing) super.trace(message);
  }

  /** Host side of a baud change: in place where the port can (Node serial ports), else close and reopen. */
  async switchBaud(baud: number): Promise<void> {
    const device = this.device as unknown as { setBaudRate?: (b: number) => Promise<void> };
    if (typeof device.setBaudRate === 'function') {
      await device.setBaudRate(baud);
      this.baudrate = baud;
      return;
    }
    await this.disconnect();
    await this.connect(baud);
    void this.readLoop();
  }
}
