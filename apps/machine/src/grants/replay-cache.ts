/** Remembers grant ids (jti) until they expire, so a grant is usable once. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = 100_000) {}

  /** True when `jti` was not seen before; remembers it until `forgetAfterMs` (epoch ms). */
  remember(jti: string, forgetAfterMs: number, nowMs: number): boolean {
    this.prune(nowMs);
    if (this.seen.has(jti)) return false;
    if (this.seen.size >= this.max) {
      // Full: drop the oldest entry (Map keeps insertion order). Grants live ≤ 30 s, so this needs a flood.
      const first = this.seen.keys().next().value;
      if (first !== undefined) this.seen.delete(first);
    }
    this.seen.set(jti, forgetAfterMs);
    return true;
  }

  has(jti: string): boolean {
    return this.seen.has(jti);
  }

  private prune(nowMs: number): void {
    for (const [k, until] of this.seen) if (until < nowMs) this.seen.delete(k);
  }
}
