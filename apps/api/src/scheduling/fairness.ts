/** The fields fairness looks at. */
export interface Queued {
  userId: string;
  priority: number;
  createdAt: number;
}

/**
 * Higher priority first; within a priority, round-robin across users (each user's oldest job, then each
 * user's second oldest, …), so one user with many jobs cannot starve the others; ties by age. `served` counts
 * each user's jobs that machines took since the queue formed (since its oldest waiting job arrived): they are
 * turns already taken, so the user who just had a build waits behind one who did not.
 */
export function fairOrder<T extends Queued>(jobs: T[], served: ReadonlyMap<string, number> = new Map()): T[] {
  const byAge = [...jobs].sort((a, b) => a.createdAt - b.createdAt);
  const rank = new Map<T, number>();
  const seen = new Map<string, number>();
  for (const j of byAge) {
    const k = `${j.priority}\u0000${j.userId}`;
    const n = seen.get(k) ?? served.get(j.userId) ?? 0;
    rank.set(j, n);
    seen.set(k, n + 1);
  }
  return byAge.sort((a, b) => b.priority - a.priority || rank.get(a)! - rank.get(b)! || a.createdAt - b.createdAt);
}
