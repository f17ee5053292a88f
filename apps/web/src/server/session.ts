import { cookies } from 'next/headers';
import { unseal, type SessionData } from './session-seal';
import { sealKey } from './web-secret';

export const SESSION_COOKIE = 'aegis_session';
/** A session lasts 12 hours; the API key itself may be revoked earlier, which the proxy reports as 401. */
export const SESSION_TTL_SECS = 12 * 3600;

export async function readSession(): Promise<SessionData | null> {
  const value = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!value) return null;
  return unseal(await sealKey(), value, Math.floor(Date.now() / 1000));
}

/** What the pages may know about the user: everything but the key. */
export type SessionUser = Omit<SessionData, 'apiKey'>;
export function publicUser(s: SessionData): SessionUser {
  return { userId: s.userId, name: s.name, isAdmin: s.isAdmin, exp: s.exp };
}
