import { describe, expect, it } from 'vitest';
import { deriveSealKey, seal, unseal, type SessionData } from '../src/server/session-seal';

const data: SessionData = { apiKey: 'aegis_u_abcdefgh12345678', userId: 'u1', name: 'Ada', isAdmin: false, exp: 2000 };

describe('session seal', () => {
  it('round-trips and hides the key from the cookie value', async () => {
    const key = await deriveSealKey('s'.repeat(32));
    const v = await seal(key, data);
    expect(v).not.toContain('aegis_u_');
    expect(Buffer.from(v, 'base64url').toString('latin1')).not.toContain('aegis_u_');
    expect(await unseal(key, v, 1000)).toEqual(data);
  });

  it('refuses a tampered, expired, foreign or garbage value', async () => {
    const key = await deriveSealKey('s'.repeat(32));
    const other = await deriveSealKey('t'.repeat(32));
    const v = await seal(key, data);
    const bytes = Buffer.from(v, 'base64url');
    bytes[bytes.length - 5] ^= 1;
    expect(await unseal(key, bytes.toString('base64url'), 1000)).toBeNull();
    expect(await unseal(key, v, 2000)).toBeNull();
    expect(await unseal(other, v, 1000)).toBeNull();
    expect(await unseal(key, 'not-a-cookie', 1000)).toBeNull();
  });

  it('uses a fresh IV each time', async () => {
    const key = await deriveSealKey('s'.repeat(32));
    expect(await seal(key, data)).not.toEqual(await seal(key, data));
  });
});
