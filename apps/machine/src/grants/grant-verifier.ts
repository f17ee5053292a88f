import { compactVerify, decodeProtectedHeader } from 'jose';
import {
  GRANT_AUDIENCE,
  GRANT_JWS_TYP,
  GrantClaims,
  describeZodError,
  type GrantRefusal,
  type GrantRefusalCode,
} from '@aegis/protocol';
import { fingerprintFromSdp, sameFingerprint } from '@aegis/peer';
import type { TrustedKeys } from './trusted-keys.js';
import type { ReplayCache } from './replay-cache.js';

export interface GrantVerifierDeps {
  keys: TrustedKeys;
  replay: ReplayCache;
  /** Epoch milliseconds. */
  now: () => number;
  /** Accepted `iss` values; empty = any issuer signed by a trusted key. */
  issuers: string[];
  /** Allowed clock difference in seconds (default 5). */
  skewSecs?: number;
}

export interface VerifyInput {
  grant: string;
  /** The job this machine claimed. */
  jobId: string;
  /** The client's offer SDP; its DTLS fingerprint must be the grant's. */
  offerSdp: string;
}

export type VerifyResult = { ok: true; claims: GrantClaims } | { ok: false; refusal: GrantRefusal };

const refuse = (code: GrantRefusalCode, message: string): VerifyResult => ({ ok: false, refusal: { code, message } });

/**
 * Checks a grant before anything else happens for a job: signature by a trusted key (EdDSA, `kid`), `typ`,
 * issuer, audience, expiry/not-yet-valid with a small skew, job id, offer fingerprint, single use.
 * Pure apart from the injected clock, keys and replay cache.
 */
export async function verifyGrant(deps: GrantVerifierDeps, input: VerifyInput): Promise<VerifyResult> {
  const skew = deps.skewSecs ?? 5;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(input.grant);
  } catch {
    return refuse('grant_malformed', 'The permission (grant) is not a valid signed token; request a new one.');
  }
  if (header.alg !== 'EdDSA' && header.alg !== 'Ed25519')
    return refuse(
      'grant_malformed',
      `The permission is signed with ${String(header.alg)}, not EdDSA; request a new one.`,
    );
  if (header.typ !== GRANT_JWS_TYP)
    return refuse('grant_malformed', 'The token is not a build permission (wrong type); request a grant from the API.');
  if (typeof header.kid !== 'string' || !header.kid)
    return refuse('grant_unknown_kid', 'The permission names no signing key; request a new one.');
  const key = await deps.keys.get(header.kid);
  if (!key)
    return refuse(
      'grant_unknown_kid',
      `This build machine does not trust the key "${header.kid}" that signed the permission; ask the operator to add the API's current key to the machine's trusted keys.`,
    );
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(input.grant, key, { algorithms: ['EdDSA', 'Ed25519'] }));
  } catch {
    return refuse('grant_bad_signature', 'The permission’s signature is not valid; request a new one from the API.');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return refuse('grant_malformed', 'The permission’s content is not JSON; request a new one.');
  }
  const parsed = GrantClaims.safeParse(json);
  if (!parsed.success) {
    const audOff = (json as { aud?: unknown } | null)?.aud !== GRANT_AUDIENCE;
    return refuse(
      'grant_malformed',
      audOff
        ? 'The permission is not meant for build machines (wrong audience); request a new one.'
        : `The permission is incomplete (${describeZodError(parsed.error)}); request a new one.`,
    );
  }
  const claims = parsed.data;
  if (deps.issuers.length && !deps.issuers.includes(claims.iss))
    return refuse(
      'grant_wrong_issuer',
      `The permission was issued by "${claims.iss}", which this machine does not accept; check the machine's --grant-issuer setting.`,
    );
  const now = deps.now() / 1000;
  if (now > claims.exp + skew)
    return refuse(
      'grant_expired',
      `The permission expired ${Math.round(now - claims.exp)} s ago; request a new one. Check this machine's clock if it keeps happening.`,
    );
  if (claims.iat > now + skew)
    return refuse(
      'grant_not_yet_valid',
      `The permission is dated ${Math.round(claims.iat - now)} s in the future; check the clocks of the API and this machine.`,
    );
  if (claims.job_id !== input.jobId)
    return refuse('grant_wrong_job', 'The permission was issued for another job; request a grant for this one.');
  const offered = fingerprintFromSdp(input.offerSdp);
  if (!offered || !sameFingerprint(offered, claims.peer_fingerprint))
    return refuse(
      'grant_fingerprint_mismatch',
      'The connection offer does not come from the peer the permission was issued to; request a new grant from the same connection.',
    );
  if (!deps.replay.remember(claims.jti, (claims.exp + skew) * 1000 + 60_000, deps.now()))
    return refuse(
      'grant_replayed',
      'This permission was already used; each grant is good for one connection. Request a new one.',
    );
  return { ok: true, claims };
}
