import { AppError } from '../errors.js';

export interface Usage {
  /** The user's jobs waiting (pending: granted, queued or not yet offered). */
  queued: number;
  /** Grants issued today (UTC). */
  today: number;
  /** When the daily counter starts over (epoch ms). */
  nextDayAt: number;
}

export interface UserLimits {
  /** Jobs one user may have waiting at once (USER_MAX_QUEUED_JOBS); running jobs are capped by the scheduler. */
  maxQueued: number;
  daily: number;
}

/**
 * Per-user queue cap and daily (UTC) quota; throws the 429 a user sees. How many of a user's builds RUN at once
 * (USER_MAX_CONCURRENT_JOBS) is not checked here: the rest simply wait in the queue (scheduling/job-queue.ts).
 */
export function checkLimits(u: Usage, limits: UserLimits, now: number): void {
  if (u.today >= limits.daily) {
    const retry = Math.max(1, Math.ceil((u.nextDayAt - now) / 1000));
    throw new AppError(
      429,
      'quota_exceeded',
      `You used your daily quota of ${limits.daily} jobs; more become available in ${retry} s.`,
      { 'Retry-After': String(retry) },
    );
  }
  if (u.queued >= limits.maxQueued) throw queueFull(u.queued, limits.maxQueued);
}

export const queueFull = (queued: number, max: number) =>
  new AppError(
    429,
    'queue_full',
    `You already have ${queued} jobs waiting in the queue (limit ${max} per user); wait until some of them start, ` +
      'or cancel the ones you no longer need (POST /jobs/{id}/cancel, or Cancel on the build page), then submit again.',
    { 'Retry-After': '10' },
  );
