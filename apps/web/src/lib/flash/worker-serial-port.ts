import type { SerialPortLike } from '@aegis/flasher';
import type { BoardReply, BoardRequest } from './virtual-board-messages';

const domError = (message: string, name: string) => new DOMException(message, name);

/**
 * A Web Serial port whose far end is the virtual board's worker: the same contract as a browser SerialPort
 * (streams null while closed and new on every open, partial setSignals, close refused while streams are locked).
 */
export class WorkerSerialPort implements SerialPortLike {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private dtr = false;
  private rts = false;
  private nextId = 1;
  private pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<BoardReply>) => {
      const m = e.data;
      if (m.t === 'data') {
        try {
          this.controller?.enqueue(m.bytes);
        } catch {
          // the reader went away: bytes are lost, as on a real closed port
        }
        return;
      }
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(domError(m.error.message, m.error.name));
      else p?.resolve();
    });
  }

  private post(m: BoardRequest) {
    this.worker.postMessage(m);
  }
  private call(m: { t: 'open'; baud: number } | { t: 'close' }): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ ...m, id });
    });
  }

  getInfo() {
    return { usbVendorId: 0x10c4, usbProductId: 0xea60 };
  }

  async open(options: { baudRate: number }) {
    if (this.readable) throw domError('The port is already open.', 'InvalidStateError');
    await this.call({ t: 'open', baud: options.baudRate });
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
        if (!this.readable) throw domError('The port is closed.', 'InvalidStateError');
        const bytes = new Uint8Array(chunk);
        this.post({ t: 'write', bytes });
      },
    });
  }

  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }) {
    if (!this.readable) throw domError('The port is closed.', 'InvalidStateError');
    if (s.dataTerminalReady !== undefined) this.dtr = s.dataTerminalReady;
    if (s.requestToSend !== undefined) this.rts = s.requestToSend;
    this.post({ t: 'signals', dtr: this.dtr, rts: this.rts });
  }

  async close() {
    if (!this.readable) throw domError('The port is already closed.', 'InvalidStateError');
    if (this.readable.locked || this.writable?.locked)
      throw new TypeError("Failed to execute 'close' on 'SerialPort': Cannot cancel a locked stream");
    try {
      this.controller?.close();
    } catch {
      // already closed
    }
    this.controller = undefined;
    this.readable = null;
    this.writable = null;
    await this.call({ t: 'close' });
  }
}
