import { describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { AuthService } from '../src/auth/auth.service.js';
import { ApiKeyRow } from '../src/db/entities.js';
import { newSecret, USER_KEY_PREFIX } from '../src/auth/secrets.js';

/** A DataSource with one key row and one user row that counts its reads (each read takes a moment). */
function fakeDb(revoked: boolean) {
  const reads = { keys: 0, users: 0 };
  const later = <T>(v: T) => new Promise<T>((r) => setTimeout(() => r(v), 5));
  const ds = {
    getRepository: (entity: unknown) =>
      entity === ApiKeyRow
        ? {
            findOneBy: () => (reads.keys++, later({ id: 'k1', userId: 'u1', revokedAt: revoked ? 1 : null })),
            update: async () => undefined,
          }
        : { findOneBy: () => (reads.users++, later({ id: 'u1', name: 'ann', role: 'user', disabled: false })) },
  } as unknown as DataSource;
  return { ds, reads };
}

describe('user key lookups', () => {
  it('concurrent requests with one key share one database read, and the cache answers the next', async () => {
    const { ds, reads } = fakeDb(false);
    const auth = new AuthService(ds, { now: () => 1_000_000 });
    const key = newSecret(USER_KEY_PREFIX);
    const all = await Promise.all(Array.from({ length: 10 }, () => auth.user(key)));
    expect(all.every((p) => p.userId === 'u1' && p.keyId === 'k1')).toBe(true);
    expect(reads).toEqual({ keys: 1, users: 1 });
    await auth.user(key);
    expect(reads).toEqual({ keys: 1, users: 1 });
    auth.forget();
    await auth.user(key);
    expect(reads).toEqual({ keys: 2, users: 2 });
  });

  it('a revoked key fails every waiting request, and is looked up again next time', async () => {
    const { ds, reads } = fakeDb(true);
    const auth = new AuthService(ds, { now: () => 1_000_000 });
    const key = newSecret(USER_KEY_PREFIX);
    const all = await Promise.allSettled(Array.from({ length: 5 }, () => auth.user(key)));
    expect(all.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    expect((all[0] as PromiseRejectedResult).reason).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(reads.keys).toBe(1);
    await expect(auth.user(key)).rejects.toMatchObject({ status: 401 });
    expect(reads.keys).toBe(2);
  });
});
