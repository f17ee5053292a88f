import { createHmac } from 'node:crypto';
import type { IceServer } from '@aegis/protocol';

/**
 * Short-lived TURN credentials in the TURN REST API scheme that coturn checks with `use-auth-secret`: the username is
 * `<expiry unix seconds>:<user id>`, the password base64(HMAC-SHA1(shared secret, username)). The API and coturn
 * share only the secret; a leaked credential stops working at its expiry.
 */
export interface TurnConfig {
  /** turn:/turns: URLs of the coturn server(s), e.g. `turn:turn.example.com:3478?transport=udp`. */
  urls: string[];
  secret: string;
  /** How long a credential stays valid (it must outlive the WebRTC session it sets up, not only the grant). */
  ttlSecs: number;
}

const TTL_MIN_SECS = 60;
const TTL_MAX_SECS = 7 * 24 * 3600;

/** TURN_URLS (comma-separated), TURN_SECRET, TURN_TTL_SECS (default 3600); none of the first two = no TURN. */
export function turnConfigFromEnv(env: NodeJS.ProcessEnv): TurnConfig | undefined {
  const urls = (env.TURN_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const secret = env.TURN_SECRET ?? '';
  if (urls.length === 0 && !secret) return undefined;
  if (urls.length === 0 || !secret)
    throw new Error(
      'Set both TURN_URLS (turn: URLs of your coturn) and TURN_SECRET (its static-auth-secret), or neither.',
    );
  const bad = urls.find((u) => !/^turns?:[^\s]+$/.test(u));
  if (bad) throw new Error(`TURN_URLS: "${bad}" is not a turn: or turns: URL, e.g. turn:turn.example.com:3478`);
  const raw = env.TURN_TTL_SECS ?? '3600';
  const ttlSecs = Number(raw);
  if (!Number.isInteger(ttlSecs) || ttlSecs < TTL_MIN_SECS || ttlSecs > TTL_MAX_SECS)
    throw new Error(`TURN_TTL_SECS must be an integer from ${TTL_MIN_SECS} to ${TTL_MAX_SECS}, got "${raw}"`);
  return { urls, secret, ttlSecs };
}

/** The ICE server entry carrying a credential for `userId`, valid until `nowMs` + the TTL. */
export function turnCredential(cfg: TurnConfig, userId: string, nowMs: number): IceServer {
  const username = `${Math.floor(nowMs / 1000) + cfg.ttlSecs}:${userId}`;
  const credential = createHmac('sha1', cfg.secret).update(username).digest('base64');
  return { urls: cfg.urls, username, credential };
}

/** The operator's static ICE servers, plus a fresh TURN credential for this user when TURN is configured. */
export function iceServersFor(
  cfg: { iceServers: IceServer[]; turn?: TurnConfig },
  userId: string,
  nowMs: number,
): IceServer[] {
  return cfg.turn ? [...cfg.iceServers, turnCredential(cfg.turn, userId, nowMs)] : cfg.iceServers;
}
