import { createHash, randomBytes } from 'node:crypto';

export const USER_KEY_PREFIX = 'aegis_u_';
export const MACHINE_TOKEN_PREFIX = 'aegis_m_';

/** 32 random bytes, base64url: high-entropy, so a plain sha256 is a sufficient stored hash. */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What a listing shows so a person can tell keys apart; never enough to use. */
export const displayPrefix = (secret: string): string => secret.slice(0, 12);

export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
