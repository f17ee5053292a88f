import type { UidLocks } from './uid-lock.js';

/**
 * Dedicated host uids for sandboxes. RLIMIT_NPROC counts processes per real uid, so each job needs a uid no
 * other process uses: then the limit bounds exactly that job (a fork bomb stops at the limit). A job's build and
 * its terminals share one uid (they write the same files); the uid returns to the pool when the last one ends.
 */
export class UidPool {
  private readonly byKey = new Map<string, { uid: number; refs: number }>();
  /** Released uids whose leftover processes are still being killed: not handed out yet. */
  private readonly draining = new Set<number>();

  constructor(
    private readonly base = 61000,
    private readonly size = 64,
    /** Host-wide claims, so two processes never hand out the same uid (tests pass none for pure logic). */
    private readonly locks?: UidLocks,
  ) {}

  /** `fresh` is true when no other sandbox of this key holds the uid (nothing of it is running). */
  acquire(key: string): { uid: number; fresh: boolean } {
    const held = this.byKey.get(key);
    if (held) {
      held.refs++;
      return { uid: held.uid, fresh: false };
    }
    const used = new Set([...this.byKey.values()].map((h) => h.uid).concat([...this.draining]));
    for (let i = 0; i < this.size; i++) {
      const uid = this.base + i;
      if (!used.has(uid) && (this.locks?.tryLock(uid) ?? true)) {
        this.byKey.set(key, { uid, refs: 1 });
        return { uid, fresh: true };
      }
    }
    throw new Error(`all ${this.size} sandbox uids are in use`);
  }

  isHeld(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Returns the uid when this was its last holder: the caller then cleans it up and calls `free(uid)`.
   * Until then the uid is not handed out again.
   */
  release(key: string): number | undefined {
    const held = this.byKey.get(key);
    if (!held || --held.refs > 0) return undefined;
    this.byKey.delete(key);
    this.draining.add(held.uid);
    return held.uid;
  }

  free(uid: number): void {
    this.draining.delete(uid);
    this.locks?.unlock(uid);
  }
}
