import { sign, type KeyObject } from 'node:crypto';

/**
 * Compact JWS with Ed25519 (RFC 8037 `EdDSA`), signed synchronously with node:crypto: the same bytes jose
 * produces, without a thread-pool round trip per grant (this is the API's hottest path). Verified with jose.
 */
export function signCompactEdDsa(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${b64(JSON.stringify({ ...header, alg: 'EdDSA' }))}.${b64(JSON.stringify(payload))}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');
