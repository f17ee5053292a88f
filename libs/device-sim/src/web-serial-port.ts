import type { HostLink } from './device.js';

/**
 * What the port needs behind it: a SimDevice in the same context, or a remote one (see worker-bridge.ts).
 * `attach` throws (or rejects) when another port holds the device.
 */
export interface PortBackend {
  readonly usbJtagSerial: boolean;
  attachHost(sink: (bytes: Uint8Array) => void, baud: number): HostLink | Promise<HostLink>;
}

export interface SimSerialPortInfo {
  usbVendorId?: number;
  usbProductId?: number;
}

export interface SimSerialPortOptions {
  info?: SimSerialPortInfo;
  /**
   * Offer the non-standard `setBaudRate()` that esptool-js uses for an in-place baud change (Node serial
   * ports have it; browsers' Web Serial does not, so the default is off and esptool-js reopens the port).
   */
  inPlaceBaudChange?: boolean;
}

/** The DOMException Chromium throws when the OS device is held elsewhere (another tab or program). */
function portBusyError(): Error {
  return makeDomException('Failed to open serial port.', 'NetworkError');
}

function makeDomException(message: string, name: string): Error {
  if (typeof DOMException === 'function') return new DOMException(message, name);
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * A Web Serial `SerialPort` in front of a SimDevice: open/close, `readable`/`writable` streams (null while
 * closed, new ones on every open), `setSignals` with partial dictionaries (the last value of each signal is
 * kept), `getInfo`. Works in a page, a Web Worker and Node (only web-platform globals are used).
 */
export class SimSerialPort extends EventTarget {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  readonly connected = true;
  /** Present only with `inPlaceBaudChange` (esptool-js checks for it). */
  setBaudRate?: (baud: number) => Promise<void>;

  private link?: HostLink;
  private controller?: ReadableStreamDefaultController<Uint8Array>;
  private dtr = false;
  private rts = false;
  private readonly info: SimSerialPortInfo;

  constructor(
    readonly device: PortBackend,
    options: SimSerialPortOptions = {},
  ) {
    super();
    this.info =
      options.info ??
      (device.usbJtagSerial
        ? { usbVendorId: 0x303a, usbProductId: 0x1001 }
        : { usbVendorId: 0x10c4, usbProductId: 0xea60 });
    if (options.inPlaceBaudChange) {
      this.setBaudRate = async (baud: number) => {
        this.assertOpen();
        this.link!.setBaud(baud);
      };
    }
  }

  getInfo(): SimSerialPortInfo {
    return { ...this.info };
  }

  async open(options: { baudRate: number }): Promise<void> {
    if (this.link) throw makeDomException('The port is already open.', 'InvalidStateError');
    if (!Number.isInteger(options?.baudRate) || options.baudRate <= 0) {
      throw new TypeError("Failed to execute 'open' on 'SerialPort': Requested baud rate must be greater than zero.");
    }
    let link: HostLink;
    try {
      link = await this.device.attachHost((bytes) => {
        try {
          this.controller?.enqueue(bytes.slice());
        } catch {
          // stream already cancelled: the bytes are lost, as with a closed real port
        }
      }, options.baudRate);
    } catch {
      throw portBusyError();
    }
    if (this.link) {
      link.close();
      throw makeDomException('The port is already open.', 'InvalidStateError');
    }
    this.link = link;
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
      cancel: () => {
        this.controller = undefined;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (this.link !== link) throw makeDomException('The port is closed.', 'InvalidStateError');
        link.write(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk));
      },
    });
  }

  async setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    this.assertOpen();
    if (signals.dataTerminalReady !== undefined) this.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.rts = signals.requestToSend;
    this.link!.setSignals({ dtr: this.dtr, rts: this.rts });
  }

  async getSignals(): Promise<{
    dataCarrierDetect: boolean;
    clearToSend: boolean;
    ringIndicator: boolean;
    dataSetReady: boolean;
  }> {
    this.assertOpen();
    return { dataCarrierDetect: false, clearToSend: false, ringIndicator: false, dataSetReady: false };
  }

  async close(): Promise<void> {
    if (!this.link) throw makeDomException('The port is already closed.', 'InvalidStateError');
    if (this.readable?.locked || this.writable?.locked) {
      throw new TypeError("Failed to execute 'close' on 'SerialPort': Cannot cancel a locked stream");
    }
    try {
      this.controller?.close();
    } catch {
      // already closed
    }
    this.controller = undefined;
    // Closing a tty drops DTR and RTS (HUPCL); with the classic circuit that leaves the chip running.
    this.link.setSignals({ dtr: false, rts: false });
    this.link.close();
    this.link = undefined;
    this.readable = null;
    this.writable = null;
  }

  async forget(): Promise<void> {
    if (this.link) await this.close();
  }

  get isOpen(): boolean {
    return this.link !== undefined;
  }

  private assertOpen(): void {
    if (!this.link) throw makeDomException('The port is closed.', 'InvalidStateError');
  }
}
