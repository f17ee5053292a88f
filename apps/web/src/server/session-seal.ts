/**
 * Seals the session (the user's API key and who they are) into an opaque cookie value with AES-256-GCM, so the
 * browser holds only ciphertext it cannot read or alter. Pure WebCrypto: the key is passed in.
 */
export interface SessionData {
  /** The user's API key (`aegis_u_…`). Never sent to the browser in the clear. */
  apiKey: string;
  userId: string;
  name: string;
  isAdmin: boolean;
  /** Expiry, epoch seconds. */
  exp: number;
}

const IV_BYTES = 12;

export async function deriveSealKey(secret: string): Promise<CryptoKey> {
  const raw = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`aegis-web-session:${secret}`));
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export async function seal(key: CryptoKey, data: SessionData): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const plain = new TextEncoder().encode(JSON.stringify(data));
  const cipher = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plain));
  const out = new Uint8Array(IV_BYTES + cipher.length);
  out.set(iv);
  out.set(cipher, IV_BYTES);
  return Buffer.from(out).toString('base64url');
}

/** Returns null for anything that is not a fresh session we sealed ourselves. */
export async function unseal(key: CryptoKey, value: string, nowSecs: number): Promise<SessionData | null> {
  try {
    const bytes = Buffer.from(value, 'base64url');
    if (bytes.length <= IV_BYTES + 16) return null;
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES) },
      key,
      bytes.subarray(IV_BYTES),
    );
    const data = JSON.parse(new TextDecoder().decode(plain)) as SessionData;
    if (typeof data.apiKey !== 'string' || typeof data.exp !== 'number' || data.exp <= nowSecs) return null;
    return data;
  } catch {
    return null;
  }
}
