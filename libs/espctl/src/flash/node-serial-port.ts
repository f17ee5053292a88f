import { SerialPort } from 'serialport';
import type { SerialPortLike } from '@aegis/flasher';

/**
 * A Node `serialport` device wrapped in the slice of the Web Serial API the flasher (esptool-js) uses, so the
 * same flashing code runs in the browser and in espctl. Ports without modem lines (a pseudo-terminal) accept
 * DTR/RTS changes as no-ops: the board then has to be in download mode already.
 */
export class NodeSerialPort implements SerialPortLike {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private port?: SerialPort;
  private info: { usbVendorId?: number; usbProductId?: number } = {};
  /** True once a DTR/RTS change was refused by the device (no modem lines). */
  noModemLines = false;

  constructor(readonly path: string) {}

  async open(options: { baudRate: number }): Promise<void> {
    if (this.port?.isOpen) throw new Error(`Failed to open serial port: ${this.path} is already open.`);
    await this.lookupInfo();
    const port = new SerialPort({ path: this.path, baudRate: options.baudRate, autoOpen: false, lock: true });
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err ? reject(new Error(`Failed to open serial port ${this.path}: ${err.message}`)) : resolve(),
      ),
    );
    this.port = port;
    this.readable = new ReadableStream<Uint8Array>({
      start(controller) {
        port.on('data', (d: Buffer) => controller.enqueue(new Uint8Array(d)));
        port.on('close', () => {
          try {
            controller.close();
          } catch {
            // already closed or errored
          }
        });
        port.on('error', (e: Error) => {
          try {
            controller.error(e);
          } catch {
            // already closed
          }
        });
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) =>
        new Promise<void>((resolve, reject) => {
          port.write(Buffer.from(chunk), (err) => {
            if (err) return reject(err);
            port.drain((e) => (e ? reject(e) : resolve()));
          });
        }),
    });
  }

  /** esptool-js's transport uses this when present, instead of closing and reopening for a baud change. */
  async setBaudRate(baud: number): Promise<void> {
    const port = this.port;
    if (!port) throw new Error('The port is not open.');
    await new Promise<void>((resolve, reject) => port.update({ baudRate: baud }, (e) => (e ? reject(e) : resolve())));
  }

  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    const port = this.port;
    if (!port) throw new Error('The port is not open.');
    const flags: { dtr?: boolean; rts?: boolean; brk?: boolean } = {};
    if (s.dataTerminalReady !== undefined) flags.dtr = s.dataTerminalReady;
    if (s.requestToSend !== undefined) flags.rts = s.requestToSend;
    if (s.break !== undefined) flags.brk = s.break;
    await new Promise<void>((resolve, reject) =>
      port.set(flags, (e) => {
        if (e && /inappropriate ioctl|ENOTTY|EINVAL/i.test(e.message)) {
          this.noModemLines = true;
          return resolve();
        }
        return e ? reject(e) : resolve();
      }),
    );
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.readable = null;
    this.writable = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return this.info;
  }

  private async lookupInfo(): Promise<void> {
    try {
      const hit = (await SerialPort.list()).find((p) => p.path === this.path);
      if (hit?.vendorId)
        this.info = { usbVendorId: parseInt(hit.vendorId, 16), usbProductId: parseInt(hit.productId ?? '0', 16) };
    } catch {
      // no USB info (e.g. a pseudo-terminal): the classic reset is used
    }
  }
}
