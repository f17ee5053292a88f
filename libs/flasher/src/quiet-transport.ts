import { Transport } from 'esptool-js';
import type { SerialPortLike } from './serial-port.js';

const SLIP_END = 0xc0;

/**
 * esptool-js's Transport with two changes:
 * - its "TRACE …" console lines stay behind the tracing flag;
 * - `read` waits for the reply instead of polling: esptool-js 0.7.0 checks its buffer every `sleep(1)`, which
 *   browsers clamp to 4 ms once timers nest (and Node stretches under load), so every command round trip paid
 *   a few ms on top of the line. Here the buffer's setter wakes the waiting read as soon as a whole SLIP frame
 *   is in; the frame is then parsed by esptool-js's own `read`, unchanged.
 */
export class QuietTransport extends Transport {
  private wake?: () => void;

  constructor(port: SerialPortLike, tracing = false) {
    super(port as never, tracing);
    // Every writer of `buffer` (the read loop, flushInput, read putting bytes back) goes through this setter.
    let buffer = this.bytes();
    Object.defineProperty(this, 'buffer', {
      get: () => buffer,
      set: (bytes: Uint8Array) => {
        buffer = bytes;
        if (bytes.length > 0 && this.wake) this.wake();
      },
      configurable: true,
    });
  }

  override trace(message: string): void {
    if (this.tracing) super.trace(message);
  }

  override async read(timeout: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeout;
    while (!holdsFrame(this.bytes())) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const wake = () => done();
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = wake;
      });
      this.wake = undefined;
    }
    // A whole frame (or garbage, or nothing by the deadline): esptool-js parses it, or raises its usual error.
    return super.read(Math.max(1, deadline - Date.now()));
  }

  /** esptool-js's receive buffer (private in its typings). */
  private bytes(): Uint8Array {
    return (this as unknown as { buffer: Uint8Array }).buffer;
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

/** The buffer starts with a complete SLIP frame, or with something esptool-js will reject at once. */
function holdsFrame(buffer: Uint8Array): boolean {
  if (buffer.length === 0) return false;
  if (buffer[0] !== SLIP_END) return true;
  return buffer.indexOf(SLIP_END, 1) !== -1;
}
