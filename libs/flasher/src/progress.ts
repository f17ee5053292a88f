/** One progress event for a part: bytes of the part written so far (uncompressed), and the rate. */
export interface FlashProgress {
  part: string;
  bytesWritten: number;
  /** Bytes of this part that need writing (only the changed sectors on a sector-diff reflash). */
  total: number;
  percent: number;
  bytesPerSec: number;
}

export type ProgressListener = (event: FlashProgress) => void;

/** Turns esptool-js's per-file compressed-byte callbacks into per-part progress. */
export class PartProgress {
  private readonly started: number;
  private done = 0;

  constructor(
    private readonly part: string,
    private readonly total: number,
    private readonly listener: ProgressListener | undefined,
    private readonly now: () => number,
  ) {
    this.started = now();
  }

  /** A range of `rangeBytes` reported `written` of `compressedTotal` compressed bytes. */
  range(rangeBytes: number, written: number, compressedTotal: number): void {
    const inRange = compressedTotal > 0 ? (rangeBytes * written) / compressedTotal : rangeBytes;
    this.emit(this.done + inRange);
    if (written >= compressedTotal) this.done += rangeBytes;
  }

  finish(): void {
    this.emit(this.total);
  }

  private emit(bytes: number): void {
    const elapsed = (this.now() - this.started) / 1000;
    const bytesWritten = Math.min(this.total, Math.round(bytes));
    this.listener?.({
      part: this.part,
      bytesWritten,
      total: this.total,
      percent: this.total === 0 ? 100 : Math.round((1000 * bytesWritten) / this.total) / 10,
      bytesPerSec: elapsed > 0 ? Math.round(bytesWritten / elapsed) : 0,
    });
  }
}
