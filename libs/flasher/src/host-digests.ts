import { CHUNK_SECTORS, md5Hex, padTo, SECTOR_SIZE } from '@aegis/esp';

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The host-side MD5s a part's sector diff and verify will ask for, computed ahead (while the board is being
 * reset and synced, when the CPU is idle) instead of between device replies: hashing a 1 MiB part takes
 * 10–25 ms of CPU, which otherwise sits between the first MD5 replies and the next requests, and again
 * after the final verify reply. Anything not computed ahead is computed on demand.
 */
export class HostDigests {
  private readonly sectorPadded: Uint8Array;
  private readonly cache = new Map<string, string>();
  private cancelled = false;

  /** `data` is the part as written (padded to 4 bytes). */
  constructor(private readonly data: Uint8Array) {
    this.sectorPadded = padTo(data, SECTOR_SIZE, 0xff);
  }

  /** MD5 of `count` sectors from `first` of the part padded to whole sectors (planSectorDiff's `hostMd5`). */
  sectors = (first: number, count: number): string => {
    const key = `${first}+${count}`;
    let digest = this.cache.get(key);
    if (digest === undefined) {
      digest = md5Hex(this.sectorPadded.subarray(first * SECTOR_SIZE, (first + count) * SECTOR_SIZE));
      this.cache.set(key, digest);
    }
    return digest;
  };

  /** MD5 of the part as written: what the final verify compares with the device. */
  whole(): string {
    let digest = this.cache.get('whole');
    if (digest === undefined) {
      digest = md5Hex(this.data);
      this.cache.set('whole', digest);
    }
    return digest;
  }

  /** Compute ahead, one digest per macrotask: the verify digest, and for a diff the whole part and its chunks. */
  async precompute(forDiff: boolean): Promise<void> {
    const total = this.sectorPadded.length / SECTOR_SIZE;
    const jobs: (() => unknown)[] = [() => this.whole()];
    if (forDiff) {
      jobs.push(() => this.sectors(0, total));
      if (total > CHUNK_SECTORS) {
        for (let s = 0; s < total; s += CHUNK_SECTORS) {
          const n = Math.min(CHUNK_SECTORS, total - s);
          jobs.push(() => this.sectors(s, n));
        }
      }
    }
    for (const job of jobs) {
      await yieldToEventLoop();
      if (this.cancelled) return;
      job();
    }
  }

  cancel(): void {
    this.cancelled = true;
  }
}
