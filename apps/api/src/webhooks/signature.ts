import { createHmac, timingSafeEqual } from 'node:crypto';

/** `X-Aegis-Signature: sha256=<hex HMAC-SHA256 of the raw body with the subscription secret>`. */
export function sign(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export function verify(secret: string, body: string, header: string | undefined): boolean {
  if (!header) return false;
  const want = Buffer.from(sign(secret, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Exponential backoff: 2 s, 4 s, 8 s … capped at 10 min; after `maxAttempts` the delivery fails for good. */
export function backoffMs(attempt: number): number {
  return Math.min(600_000, 1000 * 2 ** attempt);
}
export const MAX_ATTEMPTS = 8;
