import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A private JWK as stored: sealed with AES-256-GCM when the operator set a key-encryption secret. */
export type StoredPrivateKey = Record<string, unknown>;

interface Sealed {
  sealed: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

const keyOf = (secret: string) => createHash('sha256').update(secret).digest();

export function seal(jwk: Record<string, unknown>, secret: string | undefined): StoredPrivateKey {
  if (!secret) return jwk;
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyOf(secret), iv);
  const data = Buffer.concat([c.update(JSON.stringify(jwk)), c.final()]);
  const sealed: Sealed = {
    sealed: 'A256GCM',
    iv: iv.toString('base64url'),
    tag: c.getAuthTag().toString('base64url'),
    data: data.toString('base64url'),
  };
  return sealed as unknown as StoredPrivateKey;
}

export const isSealed = (stored: StoredPrivateKey): boolean => stored.sealed === 'A256GCM';

export function unseal(stored: StoredPrivateKey, secret: string | undefined): Record<string, unknown> {
  if (stored.sealed !== 'A256GCM') return stored;
  if (!secret)
    throw new Error(
      'The grant-signing key is sealed; set AEGIS_KEY_ENCRYPTION_SECRET_FILE (or AEGIS_KEY_ENCRYPTION_SECRET) to the secret it was sealed with.',
    );
  const s = stored as unknown as Sealed;
  const d = createDecipheriv('aes-256-gcm', keyOf(secret), Buffer.from(s.iv, 'base64url'));
  d.setAuthTag(Buffer.from(s.tag, 'base64url'));
  try {
    return JSON.parse(Buffer.concat([d.update(Buffer.from(s.data, 'base64url')), d.final()]).toString()) as Record<
      string,
      unknown
    >;
  } catch {
    throw new Error(
      'The configured sealing secret does not open the stored grant-signing key; use the one it was sealed with.',
    );
  }
}
