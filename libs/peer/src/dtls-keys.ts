import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from 'werift';
import type { RtcConfig } from './rtc-config.js';

/**
 * A fresh DTLS certificate (ECDSA P-256) for one connection. werift otherwise reuses ONE certificate for every
 * RTCPeerConnection in the process, so two sessions in one process (e.g. the API's MCP endpoint serving several
 * users) would share a fingerprint and a grant bound to one would fit the other. ~10 ms.
 */
export async function generateDtlsKeys(): Promise<NonNullable<NonNullable<RtcConfig['dtls']>['keys']>> {
  return CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  );
}

/** `config` with its own certificate, unless it already brings one. */
export async function withOwnCertificate(config: RtcConfig): Promise<RtcConfig> {
  if (config.dtls?.keys || config.certificates?.length) return config;
  return { ...config, dtls: { ...(config.dtls ?? {}), keys: await generateDtlsKeys() } };
}
