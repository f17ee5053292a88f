import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { DEFAULT_TEST_DATABASE_URL } from '@aegis/testkit';
import { MIGRATIONS } from '../src/db/data-source.js';

/**
 * A migrated database for service-level tests: in-memory SQLite, or a fresh schema of the test PostgreSQL that
 * `drop()` removes again, so parallel test files never share tables.
 */
export async function openDb(kind: 'sqlite' | 'postgres'): Promise<{ ds: DataSource; drop: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const ds = await new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      migrations: MIGRATIONS,
    }).initialize();
    return { ds, drop: () => ds.destroy() };
  }
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const schema = `t_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`CREATE SCHEMA "${schema}"`);
  const ds = await new DataSource({
    type: 'postgres',
    url,
    schema,
    migrations: MIGRATIONS,
    extra: { options: `-c search_path=${schema}` },
  }).initialize();
  return {
    ds,
    drop: async () => {
      await ds.destroy();
      await c.query(`DROP SCHEMA "${schema}" CASCADE`);
      await c.end();
    },
  };
}
