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
}
