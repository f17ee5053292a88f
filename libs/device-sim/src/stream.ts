import type { HostLink, SimDevice, Signals } from './device.js';
import { SlipDecoder } from './slip.js';

/**
 * The simplest way to talk to a SimDevice in-process: write bytes, await bytes. For unit tests of the
 * protocol without a SerialPort in between.
 */
export class DeviceStream {
  private readonly link: HostLink;
  private chunks: Uint8Array[] = [];
  private wake?: () => void;
  private readonly decoder = new SlipDecoder();
  private frames: Uint8Array[] = [];
  /** Everything received so far, as text (boot logs). */
  text = '';

  constructor(device: SimDevice, baud = 115200) {
    this.link = device.attachHost((b) => {
      this.chunks.push(b);
      this.text += new TextDecoder('latin1').decode(b);
      this.wake?.();
    }, baud);
  }

  write(bytes: Uint8Array): void {
    this.link.write(bytes);
  }

  setSignals(s: Partial<Signals>): void {
    this.link.setSignals(s);
  }

  setBaud(baud: number): void {
    this.link.setBaud(baud);
  }

  close(): void {
    this.link.close();
  }

  /** Resolve with the bytes that arrived (waiting up to timeoutMs for at least one). */
  async read(timeoutMs = 1000): Promise<Uint8Array> {
    if (this.chunks.length === 0) await this.waitForData(timeoutMs);
    const all = this.drain();
    return all;
  }

  /** Next SLIP frame, or throw after timeoutMs. */
  async readFrame(timeoutMs = 1000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.frames.length > 0) return this.frames.shift()!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No SLIP frame within ${timeoutMs} ms.`);
      if (this.chunks.length === 0) await this.waitForData(left);
      this.frames.push(...this.decoder.push(this.drain()));
    }
  }

  private drain(): Uint8Array {
    const n = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [];
    return out;
  }

  private waitForData(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, timeoutMs);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
