import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { signCompactEdDsa } from '../src/grants/jws.js';

describe('grant JWS', () => {
  it('is a standard EdDSA compact JWS that jose verifies, and tampering breaks it', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const key = createPrivateKey({ key: (await exportJWK(privateKey)) as never, format: 'jwk' });
    const now = Math.floor(Date.now() / 1000);
    const jws = signCompactEdDsa(
      { kid: 'k1', typ: 'aegis-grant+jwt' },
      { sub: 'u', aud: 'aegis-machine', iat: now, exp: now + 15 },
      key,
    );
    const pub = await importJWK(await exportJWK(publicKey), 'EdDSA');
    const { payload, protectedHeader } = await jwtVerify(jws, pub, {
      audience: 'aegis-machine',
      typ: 'aegis-grant+jwt',
    });
    expect(payload.sub).toBe('u');
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: 'k1' });

    const [h, p, s] = jws.split('.');
    const forged = Buffer.from(
      JSON.stringify({ sub: 'admin', aud: 'aegis-machine', iat: now, exp: now + 15 }),
    ).toString('base64url');
    await expect(jwtVerify(`${h}.${forged}.${s}`, pub)).rejects.toThrow();
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    await expect(jwtVerify(`${h}.${p}.${s}`, other.publicKey)).rejects.toThrow();
  });
});

describe('signing key sealing', () => {
  it('round-trips with the secret and refuses a wrong or missing one', async () => {
    const { seal, unseal } = await import('../src/grants/key-sealing.js');
    const jwk = { kty: 'OKP', crv: 'Ed25519', d: 'secret-part', x: 'public-part' };
    expect(seal(jwk, undefined)).toEqual(jwk);
    const sealed = seal(jwk, 'operator-secret');
    expect(JSON.stringify(sealed)).not.toContain('secret-part');
    expect(unseal(sealed, 'operator-secret')).toEqual(jwk);
    expect(() => unseal(sealed, 'wrong')).toThrow(/does not open/);
    expect(() => unseal(sealed, undefined)).toThrow(/AEGIS_KEY_ENCRYPTION_SECRET/);
  });
});
