import { importJWK, type JWK } from 'jose';
import { readFile, stat } from 'node:fs/promises';

export type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

/** Grant-signing public keys this machine trusts, by `kid`. */
export interface TrustedKeys {
  get(kid: string): Promise<VerifyKey | undefined>;
  kids(): string[];
}

export class TrustedKeysError extends Error {
  readonly code = 'trusted_keys_invalid';
}

/** Parses a JWKS (`{keys:[…]}`) or a single JWK; only Ed25519 (OKP) public keys with a `kid` are accepted. */
export async function importJwks(json: unknown): Promise<Map<string, VerifyKey>> {
  const list: unknown[] =
    json && typeof json === 'object' && Array.isArray((json as { keys?: unknown }).keys)
      ? (json as { keys: unknown[] }).keys
      : [json];
  const out = new Map<string, VerifyKey>();
  for (const k of list) {
    const jwk = k as JWK;
    if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string')
      continue;
    if ('d' in jwk)
      throw new TrustedKeysError(`Trusted key ${jwk.kid} contains a private part; give only public keys.`);
    out.set(jwk.kid, await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'EdDSA'));
  }
  if (out.size === 0) throw new TrustedKeysError('No Ed25519 public key with a "kid" found in the trusted keys.');
  return out;
}

export function staticTrustedKeys(keys: Map<string, VerifyKey>): TrustedKeys {
  return { get: async (kid) => keys.get(kid), kids: () => [...keys.keys()] };
}

/**
 * Keys from a JWKS file the operator (or the local API) maintains. An unknown `kid` re-reads the file when it
 * changed on disk (key rotation), never more than once per second. Never fetched over the network.
 */
export async function fileTrustedKeys(path: string): Promise<TrustedKeys> {
  let keys = await importJwks(JSON.parse(await readFile(path, 'utf8')));
  let mtime = (await stat(path)).mtimeMs;
  let lastCheck = 0;
  return {
    kids: () => [...keys.keys()],
    async get(kid) {
      const k = keys.get(kid);
      if (k) return k;
      const now = Date.now();
      if (now - lastCheck < 1000) return undefined;
      lastCheck = now;
      try {
        const m = (await stat(path)).mtimeMs;
        if (m !== mtime) {
          keys = await importJwks(JSON.parse(await readFile(path, 'utf8')));
          mtime = m;
        }
      } catch {
        // keep the keys we have
      }
      return keys.get(kid);
    },
  };
}

/** `AEGIS_TRUSTED_JWKS`: inline JSON (starts with `{`) or a file path. */
export async function loadTrustedKeys(spec: string): Promise<TrustedKeys> {
  const s = spec.trim();
  if (s.startsWith('{')) return staticTrustedKeys(await importJwks(JSON.parse(s)));
  return fileTrustedKeys(s);
}
