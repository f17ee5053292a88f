import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Runs `fn` in a PostgreSQL transaction that first takes a transaction-scoped advisory lock for one user and one
 * purpose, so every API instance serializes that user's check-then-insert steps (per-user limits). Under READ
 * COMMITTED each later statement takes a fresh snapshot, so it sees what the previous lock holder committed.
 * Other users never wait. The lock ends with the transaction.
 */
export async function withUserLock<T>(
  ds: DataSource,
  purpose: string,
  userId: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const pool = (ds.driver as unknown as { master: pg.Pool }).master;
  const [k1, k2] = lockKey(purpose, userId);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Two integers computed here (never user text), so the one-round-trip simple query is safe.
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${k1}, ${k2})`);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch((re: Error) => (broken = re));
    throw e;
  } finally {
    client.release(broken);
  }
}

/** The advisory lock's two 32-bit keys for (purpose, user). */
export function lockKey(purpose: string, userId: string): [number, number] {
  const h = createHash('sha256').update(`aegis:${purpose}:${userId}`).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}
