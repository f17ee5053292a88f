/**
 * The per-user grant rate limit, kept in the database so every API instance enforces one shared limit.
 *
 * GCRA (the "generic cell rate algorithm"): a token bucket of `perMinute` tokens, refilled at `perMinute` a
 * minute, stored as ONE number per user, the theoretical arrival time `tat` (when the bucket would be full
 * again). A request is allowed when, after adding one interval, `tat` is at most a minute ahead of now.
 * That makes the check a single conditional UPSERT, atomic on SQLite and PostgreSQL alike.
 */
export interface RateStep {
  /** 0 when allowed, else the seconds to wait before retrying. */
  wait: number;
  /** The user's new `tat` (unchanged when refused). */
  tat: number;
}

const WINDOW_MS = 60_000;

export const rateIntervalMs = (perMinute: number): number => WINDOW_MS / perMinute;

/** The rule in plain code (the SQL below does the same): one request at `now`, given the stored `tat`. */
export function rateStep(tat: number | undefined, now: number, perMinute: number): RateStep {
  const next = Math.max(tat ?? now, now) + rateIntervalMs(perMinute);
  if (next - now <= WINDOW_MS) return { wait: 0, tat: next };
  return { wait: retryAfterSecs(tat, now, perMinute), tat: tat ?? now };
}

/** Seconds until a refused request would be allowed (at least 1, as a `Retry-After`). */
export function retryAfterSecs(tat: number | undefined, now: number, perMinute: number): number {
  const next = Math.max(tat ?? now, now) + rateIntervalMs(perMinute);
  return Math.max(1, Math.ceil((next - WINDOW_MS - now) / 1000));
}

/**
 * The step as one statement: inserts or advances the user's `tat` only when allowed, and RETURNs a row only then.
 * `p(i)` renders parameter i (1: user id, 2: now, 3: interval ms); `n` casts a number for PostgreSQL.
 */
export function rateUpsertSql(pg: boolean): {
  sql: string;
  args: (userId: string, now: number, iv: number) => unknown[];
} {
  if (pg) {
    const now = '$2::double precision';
    const iv = '$3::double precision';
    const next = `(CASE WHEN grant_rate.tat > ${now} THEN grant_rate.tat ELSE ${now} END) + ${iv}`;
    return {
      sql: `INSERT INTO grant_rate (user_id, tat) VALUES ($1, ${now} + ${iv})
        ON CONFLICT (user_id) DO UPDATE SET tat = ${next} WHERE ${next} - ${now} <= ${WINDOW_MS}
        RETURNING tat`,
      args: (userId, t, i) => [userId, t, i],
    };
  }
  const next = `(CASE WHEN grant_rate.tat > ? THEN grant_rate.tat ELSE ? END) + ?`;
  return {
    sql: `INSERT INTO grant_rate (user_id, tat) VALUES (?, ? + ?)
      ON CONFLICT (user_id) DO UPDATE SET tat = ${next} WHERE ${next} - ? <= ${WINDOW_MS}
      RETURNING tat`,
    args: (userId, t, i) => [userId, t, i, t, t, i, t, t, i, t],
  };
}
