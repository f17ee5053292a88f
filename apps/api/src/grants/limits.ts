import { AppError } from '../errors.js';

export interface Usage {
  /** Jobs pending, assigned or running. */
  active: number;
  /** Jobs created in the last 24 h. */
  today: number;
  oldestToday: number | null;
}

/** Per-user concurrency and rolling 24 h quota; throws the 429 a user sees. */
export function checkLimits(u: Usage, limits: { maxConcurrent: number; daily: number }, now: number): void {
  if (u.today >= limits.daily) {
    const retry = u.oldestToday === null ? 60 : Math.max(1, Math.ceil((u.oldestToday + 24 * 3600_000 - now) / 1000));
    throw new AppError(
      429,
      'quota_exceeded',
      `You used your daily quota of ${limits.daily} jobs; more become available in ${retry} s.`,
      { 'Retry-After': String(retry) },
    );
  }
  if (u.active >= limits.maxConcurrent)
    throw new AppError(
      429,
      'too_many_running',
      `You already have ${u.active} jobs in flight (limit ${limits.maxConcurrent}); wait for one to finish or cancel one.`,
      { 'Retry-After': '5' },
    );
}
