/** SLIP framing (RFC 1055) as the ESP ROM loader uses it: every packet is wrapped in 0xC0 … 0xC0. */
export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

export function slipEncode(packet: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of packet) if (b === SLIP_END || b === SLIP_ESC) extra++;
  const out = new Uint8Array(packet.length + extra + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of packet) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else out[o++] = b;
  }
  out[o] = SLIP_END;
  return out;
}

/**
 * Incremental decoder. Bytes outside a frame (noise, a garbled baud rate) are skipped, like the ROM does;
 * a bad escape drops the frame being assembled.
 */
export class SlipDecoder {
  private buf = new Uint8Array(256);
  private len = 0;
  private inFrame = false;
  private escaping = false;

  push(bytes: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const b of bytes) {
      if (b === SLIP_END) {
        if (this.inFrame && this.len > 0) frames.push(this.buf.slice(0, this.len));
        // An END both closes a frame and may open the next one (back-to-back C0 C0 is common).
        this.inFrame = true;
        this.len = 0;
        this.escaping = false;
        continue;
      }
      if (!this.inFrame) continue;
      if (this.escaping) {
        this.escaping = false;
        if (b === SLIP_ESC_END) this.append(SLIP_END);
        else if (b === SLIP_ESC_ESC) this.append(SLIP_ESC);
        else {
          this.inFrame = false;
          this.len = 0;
        }
        continue;
      }
      if (b === SLIP_ESC) this.escaping = true;
      else this.append(b);
    }
    return frames;
  }

  reset(): void {
    this.len = 0;
    this.inFrame = false;
    this.escaping = false;
  }

  private append(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }
}
