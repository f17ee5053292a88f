import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { CLOCK, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';
import { AppError } from '../errors.js';

/** Addresses remembered at most; beyond it, windows that are over are dropped first, then everything. */
const MAX_TRACKED = 50_000;

/**
 * Failed-authentication throttling per client address: after AUTH_FAIL_LIMIT wrong keys or tokens within
 * AUTH_FAIL_WINDOW_SECS, that address gets 429 `too_many_auth_failures` (with Retry-After) for every credential,
 * a right one too, until its window ends, so keys cannot be guessed at speed. Other addresses are unaffected.
 * Kept per instance, in memory (N instances allow at most N × the limit).
 */
@Injectable()
export class AuthThrottle {
  private readonly seen = new Map<string, { start: number; fails: number }>();

  constructor(
    @Inject(CONFIG) private readonly cfg: Pick<Config, 'authFailLimit' | 'authFailWindowSecs'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private get windowMs(): number {
    return this.cfg.authFailWindowSecs * 1000;
  }

  /** Throws the 429 when `addr` used up its failures in the current window. */
  check(addr: string): void {
    const e = this.seen.get(addr);
    if (!e || e.fails < this.cfg.authFailLimit) return;
    const left = e.start + this.windowMs - this.clock.now();
    if (left <= 0) return;
    const retry = Math.max(1, Math.ceil(left / 1000));
    throw new AppError(
      429,
      'too_many_auth_failures',
      `Too many failed authentication attempts from your address; retry in ${retry} s with a valid key.`,
      { 'Retry-After': String(retry) },
    );
  }

  /** Count one failed key check from `addr`. */
  fail(addr: string): void {
    const now = this.clock.now();
    const e = this.seen.get(addr);
    if (e && now - e.start < this.windowMs) {
      e.fails++;
      return;
    }
    if (this.seen.size >= MAX_TRACKED) this.prune(now);
    this.seen.set(addr, { start: now, fails: 1 });
  }

  private prune(now: number): void {
    for (const [k, v] of this.seen) if (now - v.start >= this.windowMs) this.seen.delete(k);
    if (this.seen.size >= MAX_TRACKED) this.seen.clear();
  }
}

/** The client's address: the socket's peer, or the forwarded one when TRUST_PROXY says which proxies to believe. */
export const clientAddress = (req: Pick<Request, 'ip' | 'socket'>): string =>
  req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** A failed key check (as opposed to e.g. a disabled user or a missing key) counts against the address. */
export const isKeyFailure = (e: unknown, presented: boolean): boolean =>
  presented && e instanceof AppError && e.status === 401;
