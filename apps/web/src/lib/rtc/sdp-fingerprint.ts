import type { DtlsFingerprint } from '@aegis/protocol';

/** The DTLS fingerprint of our own offer, which the grant binds to (the machine checks the offer against it). */
export function fingerprintOf(sdp: string): DtlsFingerprint | null {
  const m = /^a=fingerprint:(sha-256|sha-384|sha-512) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp);
  if (!m) return null;
  return { algorithm: m[1] as DtlsFingerprint['algorithm'], value: m[2].toUpperCase() };
}
