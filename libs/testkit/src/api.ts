import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { jsonLogField, spawnService } from './spawn-service.js';

/** The built API entry point (`npx tsc -b apps/api/tsconfig.build.json` first). Override with AEGIS_API_MAIN. */
export const API_MAIN =
  process.env.AEGIS_API_MAIN ?? fileURLToPath(new URL('../../../apps/api/dist/main.js', import.meta.url));

export const DEFAULT_TEST_DATABASE_URL = 'postgres://root@127.0.0.1:5432/test';

export interface StartApiOptions {
  /** postgres://… → PostgreSQL (in a fresh schema unless `schema` is given); absent → SQLite in the data dir. */
  databaseUrl?: string;
  /** PostgreSQL schema. Pass the same one to several instances to share state; default: a new `t_<random>`. */
  schema?: string;
  /** Data dir (SQLite file, admin-key, jwks.json); default a new temp dir, removed by stop(). */
  dataDir?: string;
  env?: Record<string, string>;
  /** Fixed admin key (default: a random one, passed as AEGIS_BOOTSTRAP_ADMIN_KEY). */
  adminKey?: string;
  /** Milliseconds to wait for the listening line (default 30 s). */
  timeoutMs?: number;
}

export interface StartedApi {
  url: string;
  adminKey: string;
  dataDir: string;
  jwksPath: string;
  schema: string | undefined;
  process: ChildProcess;
  /** Every stdout/stderr line so far (for assertions, e.g. that no secret is logged). */
  output: string[];
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/** A fresh PostgreSQL schema name, so parallel test files never see each other's rows. */
export function freshSchema(): string {
  return `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/**
 * Spawn the built API on a random port with a temp data dir and wait for its `"msg":"listening"` line.
 * PostgreSQL: each call gets its own schema (the API creates it; stop() drops it) unless `schema` is passed, in
 * which case the caller owns it (share it between instances; drop it with `dropSchema`).
 */
export async function startApi(opts: StartApiOptions = {}): Promise<StartedApi> {
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-api-'));
  const adminKey = opts.adminKey ?? `aegis_u_${randomBytes(32).toString('base64url')}`;
  const schema = opts.databaseUrl ? (opts.schema ?? freshSchema()) : undefined;
  const service = await spawnService({
    name: 'API',
    readyVerb: 'start',
    entry: API_MAIN,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      AEGIS_DATA_DIR: dataDir,
      AEGIS_BOOTSTRAP_ADMIN_KEY: adminKey,
      LOG_LEVEL: 'info',
      ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl, DATABASE_SCHEMA: schema! } : {}),
      ...opts.env,
    },
    readyOn: (line) => jsonLogField(line, '"msg":"listening"', 'url'),
    timeoutMs: opts.timeoutMs,
  });
  return {
    url: service.ready,
    adminKey,
    dataDir,
    jwksPath: path.join(dataDir, 'jwks.json'),
    schema,
    process: service.process,
    output: service.output,
    kill: service.kill,
    stop: async () => {
      await service.stop();
      if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
      // A schema this call made is dropped with the instance (one shared by the caller stays).
      if (opts.databaseUrl && !opts.schema && schema) await dropSchema(opts.databaseUrl, schema);
    },
  };
}

/** Drop a test schema and everything in it. */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`refusing to drop schema "${schema}"`);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

async function call<T>(url: string, key: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Create a user (admin key) and return its first API key. */
export async function createUser(
  url: string,
  adminKey: string,
  role: 'admin' | 'user' = 'user',
  name?: string,
): Promise<string> {
  const r = await call<{ secret: string }>(url, adminKey, 'POST', '/users', {
    name: name ?? `user-${randomBytes(4).toString('hex')}`,
    role,
  });
  return r.secret;
}

/** Create a machine (admin key) and return its id and token. */
export async function createMachineToken(
  url: string,
  adminKey: string,
  name: string,
): Promise<{ machineId: string; token: string }> {
  const r = await call<{ machine: { id: string }; token: string }>(url, adminKey, 'POST', '/machines', { name });
  return { machineId: r.machine.id, token: r.token };
}
