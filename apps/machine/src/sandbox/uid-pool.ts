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

  /**
   * `fresh` is true when no other holder of this key has the uid. `prefer` is tried first (the owner of a workspace
   * left from before a restart, which only that uid may delete).
   */
  acquire(key: string, prefer?: number): { uid: number; fresh: boolean } {
    const held = this.byKey.get(key);
    if (held) {
      held.refs++;
      return { uid: held.uid, fresh: false };
    }
    const used = new Set([...this.byKey.values()].map((h) => h.uid).concat([...this.draining]));
    const inRange = prefer !== undefined && prefer >= this.base && prefer < this.base + this.size;
    const order = [...(inRange ? [prefer] : []), ...Array.from({ length: this.size }, (_, i) => this.base + i)];
    for (const uid of order) {
      if (!used.has(uid) && (this.locks?.tryLock(uid) ?? true)) {
        this.byKey.set(key, { uid, refs: 1 });
        return { uid, fresh: true };
      }
    }
    throw new Error(`all ${this.size} sandbox uids are in use`);
  }

  /** The uid this key holds, if any. */
  uidOf(key: string): number | undefined {
    return this.byKey.get(key)?.uid;
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
