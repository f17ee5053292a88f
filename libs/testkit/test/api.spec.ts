import fs from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createMachineToken, createUser, DEFAULT_TEST_DATABASE_URL, startApi } from '../src/index.js';

const PG_URL = process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;

async function schemaExists(schema: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return r.rowCount === 1;
  } finally {
    await c.end();
  }
}

describe('startApi', () => {
  it('starts the built API on SQLite in a temp dir and cleans it up', async () => {
    const api = await startApi();
    try {
      expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(fs.existsSync(api.jwksPath)).toBe(true);
      expect(fs.readFileSync(`${api.dataDir}/admin-key`, 'utf8').trim()).toBe(api.adminKey);
      const key = await createUser(api.url, api.adminKey);
      const me = await fetch(`${api.url}/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(me.status).toBe(200);
      const m = await createMachineToken(api.url, api.adminKey, 'm1');
      expect(m.token).toMatch(/^aegis_m_/);
    } finally {
      await api.stop();
    }
    expect(fs.existsSync(api.dataDir)).toBe(false);
    expect(api.process.exitCode ?? api.process.signalCode).not.toBeNull();
  });

  it('gives each PostgreSQL instance a fresh schema and drops it on stop', async () => {
    const api = await startApi({ databaseUrl: PG_URL });
    expect(api.schema).toMatch(/^t_/);
    expect(await schemaExists(api.schema!)).toBe(true);
    const health = (await (await fetch(`${api.url}/health`)).json()) as { driver: string };
    expect(health.driver).toBe('postgres');
    await api.stop();
    expect(await schemaExists(api.schema!)).toBe(false);
  });
});
