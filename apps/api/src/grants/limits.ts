import { AppError } from '../errors.js';

export interface Usage {
  /** Jobs pending, assigned or running. */
  active: number;
  /** Grants issued today (UTC). */
  today: number;
  /** When the daily counter starts over (epoch ms). */
  nextDayAt: number;
}

/** Per-user concurrency and daily (UTC) quota; throws the 429 a user sees. */
export function checkLimits(u: Usage, limits: { maxConcurrent: number; daily: number }, now: number): void {
  if (u.today >= limits.daily) {
    const retry = Math.max(1, Math.ceil((u.nextDayAt - now) / 1000));
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
