import type pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * A named (server-side prepared) statement on TypeORM's own PostgreSQL pool, for the hottest statements:
 * PostgreSQL parses and plans it once per connection instead of on every call, and the call skips TypeORM's
 * query-runner bookkeeping. `name` must stand for one fixed SQL text.
 */
export async function preparedQuery<T = Record<string, unknown>>(
  ds: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const pool = (ds.driver as unknown as { master: pg.Pool }).master;
  const r = await pool.query({ name, text, values });
  return r.rows as T[];
}
