import { randomUUID } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { GRANT_AUDIENCE, GRANT_JWS_TYP, type GrantClaims } from '@aegis/protocol';

export const FP = {
  algorithm: 'sha-256' as const,
  value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':'),
};
export const offerSdpWith = (fp = FP) =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:${fp.algorithm} ${fp.value}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n`;

export async function makeSigner(kid = 'k1') {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return {
    kid,
    jwks: { keys: [jwk] },
    sign: async (claims: object, header: Record<string, unknown> = {}) =>
      new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: 'EdDSA', typ: GRANT_JWS_TYP, kid, ...header })
        .sign(privateKey),
  };
}

export function claimsFor(jobId: string, nowSecs: number, over: Partial<GrantClaims> = {}): GrantClaims {
  return {
    v: 1,
    iss: 'aegis-api',
    aud: GRANT_AUDIENCE,
    sub: randomUUID(),
    jti: randomUUID(),
    iat: nowSecs,
    exp: nowSecs + 15,
    job_id: jobId,
    kind: 'build',
    params: { cpu_cores: 1, memory_mb: 256, timeout_secs: 60 },
    channels: ['espctl', 'firmware', 'pty'],
    max_bandwidth_kbps: 100_000,
    max_message_rate: 10_000,
    ice_servers: [],
    peer_fingerprint: FP,
    ...over,
  };
}
