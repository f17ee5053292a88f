import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Config } from '../config.js';
import { ENTITIES } from './entities.js';
import { Init1764000000000 } from './migrations/1764000000000-init.js';
import { Usage1764000000001 } from './migrations/1764000000001-usage.js';
import { FlashHandoff1764000000002 } from './migrations/1764000000002-flash-handoff.js';
import { GrantRate1764000000003 } from './migrations/1764000000003-grant-rate.js';
import { MachineBuilds1764000000010 } from './migrations/1764000000010-machine-builds.js';
import { JobQueue1764000000014 } from './migrations/1764000000014-job-queue.js';
import { ClientLeft1764000000015 } from './migrations/1764000000015-client-left.js';

export type Driver = 'sqlite' | 'postgres';
export const MIGRATIONS = [
  Init1764000000000,
  Usage1764000000001,
  FlashHandoff1764000000002,
  GrantRate1764000000003,
  MachineBuilds1764000000010,
  JobQueue1764000000014,
  ClientLeft1764000000015,
];

export function dataSourceOptions(cfg: Config): DataSourceOptions {
  if (cfg.databaseUrl) {
    return {
      type: 'postgres',
      url: cfg.databaseUrl,
      schema: cfg.databaseSchema,
      entities: ENTITIES,
      migrations: MIGRATIONS,
      migrationsRun: false,
      synchronize: false,
      logging: false,
      // search_path so unqualified SQL lands in the same schema as the entities.
      extra: { max: 20, ...(cfg.databaseSchema ? { options: `-c search_path=${cfg.databaseSchema}` } : {}) },
    };
  }
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  return {
    type: 'better-sqlite3',
    database: path.join(cfg.dataDir, 'aegis.sqlite'),
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    logging: false,
    // WAL lets readers proceed during writes; a busy timeout rides out the short write locks.
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
    },
  };
}

/** Connect, create the PostgreSQL schema when asked for one, run pending migrations. */
export async function openDatabase(cfg: Config): Promise<DataSource> {
  if (cfg.databaseUrl && cfg.databaseSchema) {
    const client = new pg.Client({ connectionString: cfg.databaseUrl });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${cfg.databaseSchema}"`);
    } finally {
      await client.end();
    }
  }
  const ds = new DataSource(dataSourceOptions(cfg));
  await ds.initialize();
  if (ds.options.type !== 'postgres') {
    await ds.runMigrations({ transaction: 'all' });
    return ds;
  }
  // Several instances may start at once on one PostgreSQL: serialise migrations with an advisory lock.
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(734100001)');
    await ds.runMigrations({ transaction: 'all' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock(734100001)').catch(() => undefined);
    await lock.release();
  }
  return ds;
}

export const driverOf = (ds: DataSource): Driver => (ds.options.type === 'postgres' ? 'postgres' : 'sqlite');
