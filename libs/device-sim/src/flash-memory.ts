/** SPI NOR flash: 4 KiB erase sectors, erased state 0xFF, programming can only clear bits. */
export const SECTOR_SIZE = 0x1000;

export class FlashRangeError extends Error {
  readonly code = 'flash_range';
}

export interface FlashStats {
  /** Sector erase operations (a chip erase counts every sector). */
  erases: number;
  /** Distinct sectors that received program operations since the last `resetStats()`. */
  writtenSectors: Set<number>;
  /** Bytes programmed since the last `resetStats()`. */
  bytesWritten: number;
}

export class FlashMemory {
  readonly data: Uint8Array;
  stats: FlashStats = { erases: 0, writtenSectors: new Set(), bytesWritten: 0 };

  constructor(
    readonly size: number,
    initial?: Uint8Array,
  ) {
    if (size % SECTOR_SIZE !== 0) throw new FlashRangeError(`Flash size ${size} is not a multiple of 4 KiB.`);
    this.data = new Uint8Array(size).fill(0xff);
    if (initial) this.data.set(initial.subarray(0, size));
  }

  get sectorCount(): number {
    return this.size / SECTOR_SIZE;
  }

  /** Erase every sector touching [offset, offset+length). */
  eraseRange(offset: number, length: number): void {
    if (length === 0) return;
    this.check(offset, length);
    const first = Math.floor(offset / SECTOR_SIZE);
    const last = Math.floor((offset + length - 1) / SECTOR_SIZE);
    for (let s = first; s <= last; s++) this.eraseSector(s);
  }

  eraseSector(index: number): void {
    this.data.fill(0xff, index * SECTOR_SIZE, (index + 1) * SECTOR_SIZE);
    this.stats.erases++;
  }

  eraseAll(): void {
    for (let s = 0; s < this.sectorCount; s++) this.eraseSector(s);
  }

  /** NOR programming: new = old AND data. Writing over unerased flash silently corrupts it, as on hardware. */
  program(offset: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.check(offset, bytes.length);
    const d = this.data;
    for (let i = 0; i < bytes.length; i++) d[offset + i] &= bytes[i];
    const first = Math.floor(offset / SECTOR_SIZE);
    const last = Math.floor((offset + bytes.length - 1) / SECTOR_SIZE);
    for (let s = first; s <= last; s++) this.stats.writtenSectors.add(s);
    this.stats.bytesWritten += bytes.length;
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    return this.data.slice(offset, offset + length);
  }

  resetStats(): void {
    this.stats = { erases: 0, writtenSectors: new Set(), bytesWritten: 0 };
  }

  inRange(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset + length <= this.size;
  }

  private check(offset: number, length: number): void {
    if (!this.inRange(offset, length)) {
      throw new FlashRangeError(`Range 0x${offset.toString(16)}+${length} is outside the ${this.size} byte flash.`);
    }
  }
}
