import { DtlsFingerprint } from '@aegis/protocol';

/** The DTLS fingerprint of an SDP (`a=fingerprint:sha-256 AB:CD:…`), or undefined when there is none or several differ. */
export function fingerprintFromSdp(sdp: string): DtlsFingerprint | undefined {
  const found = new Set<string>();
  let fp: DtlsFingerprint | undefined;
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=fingerprint:(\S+)\s+(\S+)\s*$/i.exec(line);
    if (!m) continue;
    const r = DtlsFingerprint.safeParse({ algorithm: m[1].toLowerCase(), value: m[2].toUpperCase() });
    if (!r.success) return undefined;
    fp = r.data;
    found.add(`${fp.algorithm} ${fp.value}`);
  }
  return found.size === 1 ? fp : undefined;
}

export const sameFingerprint = (a: DtlsFingerprint, b: DtlsFingerprint): boolean =>
  a.algorithm.toLowerCase() === b.algorithm.toLowerCase() && a.value.toUpperCase() === b.value.toUpperCase();

/**
 * Drops mDNS (`*.local`) candidates: resolving them makes werift send multicast queries on the LAN (notes, Q2),
 * and the connection works without them (peer-reflexive candidates).
 */
export function stripMdnsCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((l) => !(l.startsWith('a=candidate') && /\s\S+\.local\s/.test(l)))
    .join('\r\n');
}

export const isMdnsCandidate = (candidate: string): boolean => /\s\S+\.local\s/.test(candidate);
