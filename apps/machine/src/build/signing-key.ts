import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  createHash,
  type KeyObject,
  type webcrypto,
} from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The machine's own Ed25519 key that signs flash bundles; `kid` names it in the JWS header and the heartbeat JWK. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject | webcrypto.CryptoKey;
}

/** kid = first 16 hex chars of the sha256 of the raw public key, so it changes whenever the key does. */
function kidOf(publicKey: KeyObject): string {
  const x = publicKey.export({ format: 'jwk' }).x as string;
  return `bundle-${createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex').slice(0, 16)}`;
}

/** The public half as a JWK with `kid`, `alg` and `use`, for `bundle_public_jwk` in the heartbeat. */
export function publicJwkOf(key: SigningKey): Record<string, unknown> {
  const pub = createPublicKey(key.privateKey as KeyObject);
  return { ...pub.export({ format: 'jwk' }), kid: key.kid, alg: 'EdDSA', use: 'sig' };
}

/**
 * Loads the machine's bundle-signing key from a PKCS#8 PEM file, creating it (mode 0600, written atomically)
 * on first start.
 */
export async function loadOrCreateSigningKey(file: string): Promise<SigningKey> {
  const pem = await readFile(file, 'utf8').catch(() => undefined);
  if (pem !== undefined) {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 private key.`);
    return { kid: kidOf(createPublicKey(privateKey)), privateKey };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  await rename(tmp, file);
  return { kid: kidOf(publicKey), privateKey };
}
