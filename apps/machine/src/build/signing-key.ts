import type { KeyObject } from 'node:crypto';

/** The machine's own Ed25519 key that signs flash bundles; `kid` names it in the JWS header and the heartbeat JWK. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject | CryptoKey;
}
