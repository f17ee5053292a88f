import path from 'node:path';
import { IceServer } from '@aegis/protocol';
import { z } from 'zod';
import { readSecretFile } from './grants/sealing-secret.js';
import { turnConfigFromEnv, type TurnConfig } from './turn/turn-credentials.js';

/** Everything the API reads from its environment, parsed once at start. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (created when missing); lets parallel test runs share one database. */
  databaseSchema: string | undefined;
  dataDir: string;
  allowedOrigins: string[];
  publicUrl: string | undefined;
  bootstrapAdminKey: string | undefined;
  /** Seals grant-signing private keys in the database (AES-256-GCM); unset = stored as plain JWK. */
  keyEncryptionSecret: string | undefined;
  iceServers: IceServer[];
  /** coturn's shared secret and URLs: each grant's ice_servers get a short-lived credential (TURN_URLS, TURN_SECRET). */
  turn: TurnConfig | undefined;
  grantMaxBandwidthKbps: number;
  grantMaxMessageRate: number;
  /** Builds one user may have RUNNING at once; the scheduler leaves the rest in the queue (fair round-robin). */
  userMaxConcurrentJobs: number;
  /** Jobs one user may have WAITING (pending) at once; more is 429 `queue_full`. */
  userMaxQueuedJobs: number;
  userDailyJobs: number;
  grantRatePerMin: number;
  logLevel: string;
  heartbeatIntervalSecs: number;
  /** A pending job nobody claimed expires this long after its grant does (until its offer queues it). */
  pendingGraceSecs: number;
  /** A queued job (pending with an offer) that no machine took within this long expires. */
  queueMaxWaitSecs: number;
  /**
   * A waiting job whose client has had no signaling stream open for this long is canceled (`client_left`); a
   * claimed one that is not connected yet is given up by its machine. Long enough for a stream to reconnect.
   */
  clientGoneGraceSecs: number;
  signingKeyRotateHours: number;
  /** Let webhooks reach loopback/private addresses and this host's own (off by default: SSRF). */
  webhookAllowPrivate: boolean;
  /** Active webhooks per user (409 `webhook_limit` beyond). */
  webhookMaxPerUser: number;
  /** One delivery attempt's deadline (connect, send, answer). */
  webhookTimeoutSecs: number;
  /** Failed key checks per client address per window before 429 `too_many_auth_failures`. */
  authFailLimit: number;
  authFailWindowSecs: number;
  /** Express `trust proxy`: which proxies' X-Forwarded-For to believe for the client address (default none). */
  trustProxy: boolean | number | string;
  /** Enables `GET /debug/cpu` (process CPU time) for the benchmark. */
  debugEndpoints: boolean;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let iceServers: IceServer[] = [];
  if (env.ICE_SERVERS) {
    let raw: unknown;
    try {
      raw = JSON.parse(env.ICE_SERVERS);
    } catch {
      throw new Error('ICE_SERVERS is not valid JSON; give a JSON array like [{"urls":"turn:turn.example:3478"}]');
    }
    const parsed = z.array(IceServer).safeParse(raw);
    if (!parsed.success) throw new Error('ICE_SERVERS must be a JSON array of {urls, username?, credential?}');
    iceServers = parsed.data;
  }
  const bootstrap = env.AEGIS_BOOTSTRAP_ADMIN_KEY || undefined;
  if (bootstrap && !/^aegis_u_[A-Za-z0-9_-]{16,}$/.test(bootstrap))
    throw new Error('AEGIS_BOOTSTRAP_ADMIN_KEY must look like aegis_u_ followed by at least 16 URL-safe characters');
  const schema = env.DATABASE_SCHEMA || undefined;
  if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('DATABASE_SCHEMA must match [a-z_][a-z0-9_]*');
  return {
    port: int(env, 'PORT', 8080),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    databaseSchema: schema,
    dataDir: path.resolve(env.AEGIS_DATA_DIR || '.aegis'),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    publicUrl: env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, '') : undefined,
    bootstrapAdminKey: bootstrap,
    keyEncryptionSecret: keyEncryptionSecret(env),
    iceServers,
    turn: turnConfigFromEnv(env),
    grantMaxBandwidthKbps: int(env, 'GRANT_MAX_BANDWIDTH_KBPS', 100_000, 1),
    grantMaxMessageRate: int(env, 'GRANT_MAX_MESSAGE_RATE', 2000, 1),
    userMaxConcurrentJobs: int(env, 'USER_MAX_CONCURRENT_JOBS', 4, 1),
    userMaxQueuedJobs: int(env, 'USER_MAX_QUEUED_JOBS', 50, 1),
    userDailyJobs: int(env, 'USER_DAILY_JOBS', 500, 1),
    grantRatePerMin: int(env, 'GRANT_RATE_PER_MIN', 120, 1),
    logLevel: env.LOG_LEVEL || 'info',
    heartbeatIntervalSecs: int(env, 'HEARTBEAT_INTERVAL_SECS', 10, 1),
    pendingGraceSecs: int(env, 'PENDING_GRACE_SECS', 5, 0),
    queueMaxWaitSecs: int(env, 'QUEUE_MAX_WAIT_SECS', 3600, 1),
    clientGoneGraceSecs: int(env, 'QUEUE_CLIENT_GRACE_SECS', 5, 0),
    signingKeyRotateHours: int(env, 'SIGNING_KEY_ROTATE_HOURS', 24, 1),
    debugEndpoints: env.AEGIS_DEBUG_ENDPOINTS === '1',
    webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE === '1',
    webhookMaxPerUser: int(env, 'WEBHOOK_MAX_PER_USER', 10, 1),
    webhookTimeoutSecs: int(env, 'WEBHOOK_TIMEOUT_SECS', 10, 1),
    authFailLimit: int(env, 'AUTH_FAIL_LIMIT', 20, 1),
    authFailWindowSecs: int(env, 'AUTH_FAIL_WINDOW_SECS', 60, 1),
    trustProxy: trustProxy(env.TRUST_PROXY),
  };
}

/** The sealing secret: AEGIS_KEY_ENCRYPTION_SECRET, or the 0600 file AEGIS_KEY_ENCRYPTION_SECRET_FILE names. */
function keyEncryptionSecret(env: NodeJS.ProcessEnv): string | undefined {
  const file = env.AEGIS_KEY_ENCRYPTION_SECRET_FILE;
  if (file && env.AEGIS_KEY_ENCRYPTION_SECRET)
    throw new Error('Set AEGIS_KEY_ENCRYPTION_SECRET or AEGIS_KEY_ENCRYPTION_SECRET_FILE, not both.');
  if (file) return readSecretFile(path.resolve(file), 'AEGIS_KEY_ENCRYPTION_SECRET_FILE');
  return env.AEGIS_KEY_ENCRYPTION_SECRET || undefined;
}

/** TRUST_PROXY as Express takes it: unset/false = none, true, a hop count, or addresses/subnets ("loopback"). */
function trustProxy(raw: string | undefined): boolean | number | string {
  if (!raw || raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

export const CONFIG = Symbol('CONFIG');

/** The issuer (grants' `iss`); PUBLIC_URL or, when unset, the URL we listen on (known only after listen). */
export class Issuer {
  constructor(private url: string | undefined) {}
  set(url: string): void {
    this.url ??= url;
  }
  get(): string {
    if (!this.url) throw new Error('issuer not known before the server listens');
    return this.url;
  }
}
