import { readFileSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { MAX_UPLOAD_BYTES, describeZodError } from '@aegis/protocol';

/** Everything the agent is configured with. CLI flags beat environment variables, which beat the config file. */
export const MachineConfig = z.object({
  apiUrl: z.url(),
  token: z.string().regex(/^aegis_m_/, 'the machine token starts with "aegis_m_"'),
  name: z.string().min(1).max(128).optional(),
  storeRoot: z.string().min(1).optional(),
  trustedJwks: z.string().min(1).optional(),
  trustOnFirstUse: z.boolean().default(false),
  grantIssuer: z.array(z.string().min(1)).default([]),
  slots: z.coerce.number().int().min(1).max(256).default(1),
  cores: z.coerce.number().int().min(1).max(1024).default(availableParallelism()),
  memoryMb: z.coerce
    .number()
    .int()
    .min(128)
    .default(Math.floor(totalmem() / 1024 / 1024)),
  sandbox: z.enum(['bwrap', 'none']).default('bwrap'),
  /** Results (for reattach, logs, firmware) are kept this long after their last use… */
  retentionMins: z.coerce
    .number()
    .min(0)
    .max(365 * 24 * 60)
    .default(7 * 24 * 60),
  /** …and the least recently used go first while all together exceed this (MiB). */
  resultsDiskCapMb: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 1024),
  workDir: z.string().min(1).default(join(homedir(), '.aegis-machine')),
  maxUploadMb: z.coerce
    .number()
    .int()
    .min(1)
    .max(4096)
    .default(MAX_UPLOAD_BYTES / 1024 / 1024),
  /** Disk quota of each job workspace (a size-limited filesystem per job, as root); 0 = none. */
  workspaceQuotaMb: z.coerce
    .number()
    .int()
    .min(0)
    .max(1024 * 1024)
    .default(4096),
  /** ccache across jobs: each user their own (default), one for every user of this machine, or off. */
  compilerCache: z.enum(['user', 'machine', 'off']).default('user'),
  /** Where the compiler caches live; default `<workDir>/ccache`. */
  ccacheDir: z.string().min(1).optional(),
  ccacheMaxMb: z.coerce.number().int().min(64).default(2048),
  /** A compiler cache nobody built with for this long is deleted; at least a day, so no running build loses it. */
  ccacheRetentionDays: z.coerce.number().min(1).max(3650).default(14),
  /** The host group builds join to reach their cache; pick a gid no other account uses. */
  ccacheGid: z.coerce.number().int().min(1).max(4_294_967_294).default(61999),
  rtcInterface: z.ipv4().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});
export type MachineConfig = z.infer<typeof MachineConfig>;

/** Flag → environment variable. */
const ENV: Record<string, string> = {
  // AEGIS_MACHINE_WORK_DIR is an alias of AEGIS_WORK_DIR (scripts/start.mjs uses it)
  apiUrl: 'CONTROL_BASE_URL',
  token: 'AEGIS_MACHINE_TOKEN',
  name: 'AEGIS_MACHINE_NAME',
  storeRoot: 'ESPCTL_STORE_ROOT',
  trustedJwks: 'AEGIS_TRUSTED_JWKS',
  grantIssuer: 'AEGIS_GRANT_ISSUER',
  slots: 'AEGIS_MACHINE_SLOTS',
  cores: 'AEGIS_MACHINE_CORES',
  memoryMb: 'AEGIS_MACHINE_MEMORY_MB',
  sandbox: 'AEGIS_SANDBOX',
  retentionMins: 'AEGIS_RESULTS_RETENTION_MINS',
  resultsDiskCapMb: 'AEGIS_RESULTS_DISK_CAP_MB',
  workDir: 'AEGIS_WORK_DIR',
  workDirAlias: 'AEGIS_MACHINE_WORK_DIR',
  maxUploadMb: 'AEGIS_MAX_UPLOAD_MB',
  workspaceQuotaMb: 'AEGIS_WORKSPACE_QUOTA_MB',
  compilerCache: 'AEGIS_CCACHE',
  ccacheDir: 'AEGIS_CCACHE_DIR',
  ccacheMaxMb: 'AEGIS_CCACHE_MAX_MB',
  ccacheRetentionDays: 'AEGIS_CCACHE_RETENTION_DAYS',
  ccacheGid: 'AEGIS_CCACHE_GID',
  rtcInterface: 'AEGIS_RTC_INTERFACE',
  logLevel: 'LOG_LEVEL',
};

export function buildCli(): Command {
  const env = (k: string) => ` (env ${ENV[k]})`;
  return new Command('aegis-machine')
    .description(
      'Aegis build-machine agent. Makes outbound HTTPS calls only (never listens): long-polls the control API for ' +
        'jobs, verifies each grant with keys it already trusts, answers the client over WebRTC and builds in a sandbox.',
    )
    .option('-c, --config <file>', 'JSON or TOML file with any of the settings below (camelCase keys)')
    .option('--api-url <url>', `control API base URL${env('apiUrl')}`)
    .option('--token <token>', `machine token aegis_m_…; prefer the environment variable${env('token')}`)
    .option('--name <name>', `name shown in the dashboard (default: host name)${env('name')}`)
    .option('--store-root <dir>', `toolchain store with manifest.json${env('storeRoot')}`)
    .option(
      '--trusted-jwks <file|json>',
      `public keys that may sign grants: a JWKS file path or inline JSON${env('trustedJwks')}`,
    )
    .option(
      '--trust-on-first-use',
      'DEVELOPMENT ONLY: fetch the API’s /.well-known/jwks.json once at start and trust it (logged loudly)',
    )
    .option(
      '--grant-issuer <iss...>',
      `accepted grant issuers (default: any, if signed by a trusted key)${env('grantIssuer')}`,
    )
    .option('--slots <n>', `builds run in parallel (default 1)${env('slots')}`)
    .option('--cores <n>', `CPU cores offered (default: all)${env('cores')}`)
    .option('--memory-mb <n>', `memory offered in MiB (default: all)${env('memoryMb')}`)
    .addOption(
      new Option(
        '--sandbox <mode>',
        `bwrap (default) or none — none runs builds unconfined and is logged on every build${env('sandbox')}`,
      ).choices(['bwrap', 'none']),
    )
    .option(
      '--retention-mins <n>',
      `keep results for reattach this long after their last use (default 10080, 7 days)${env('retentionMins')}`,
    )
    .option(
      '--results-disk-cap-mb <n>',
      `all kept results stay under this; oldest go first (default 20480)${env('resultsDiskCapMb')}`,
    )
    .option('--work-dir <dir>', `job workspaces (default ~/.aegis-machine)${env('workDir')}`)
    .option('--max-upload-mb <n>', `largest project archive accepted (default 64)${env('maxUploadMb')}`)
    .option(
      '--workspace-quota-mb <n>',
      `disk quota of each job workspace, a size-limited filesystem per job (default 4096; 0 = none; needs root)${env('workspaceQuotaMb')}`,
    )
    .addOption(
      new Option(
        '--compiler-cache <scope>',
        `ccache kept across builds: user (default; each user their own), machine (one for all users: only when they ` +
          `trust one another), off${env('compilerCache')}`,
      ).choices(['user', 'machine', 'off']),
    )
    .option('--ccache-dir <dir>', `where the compiler caches live (default <work-dir>/ccache)${env('ccacheDir')}`)
    .option('--ccache-max-mb <n>', `size cap of each compiler cache (default 2048)${env('ccacheMaxMb')}`)
    .option(
      '--ccache-retention-days <n>',
      `delete a compiler cache unused this long (default 14, at least 1)${env('ccacheRetentionDays')}`,
    )
    .option(
      '--ccache-gid <gid>',
      `host group builds join to use their cache, as root (default 61999; unused by any account)${env('ccacheGid')}`,
    )
    .option(
      '--rtc-interface <ipv4>',
      `bind WebRTC to this one address only, e.g. 127.0.0.1 in tests${env('rtcInterface')}`,
    )
    .option('--log-level <level>', `fatal|error|warn|info|debug|trace (default info)${env('logLevel')}`);
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
}

/** Merges config file, environment and CLI options, and validates the result. */
export function loadConfig(argv: string[], envVars: NodeJS.ProcessEnv = process.env): MachineConfig {
  const cli = buildCli();
  cli.parse(argv, { from: 'node' });
  const flags = cli.opts<Record<string, unknown>>();
  let file: Record<string, unknown> = {};
  if (typeof flags.config === 'string') {
    const path = resolve(flags.config);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new ConfigError(`Cannot read the config file ${path}.`);
    }
    try {
      file = path.endsWith('.toml')
        ? (parseToml(text) as Record<string, unknown>)
        : (JSON.parse(text) as Record<string, unknown>);
    } catch (err) {
      throw new ConfigError(
        `The config file ${path} is not valid ${path.endsWith('.toml') ? 'TOML' : 'JSON'}: ${(err as Error).message}`,
      );
    }
  }
  const merged: Record<string, unknown> = { ...file };
  for (const [key, name] of Object.entries(ENV)) {
    const v = envVars[name];
    if (v === undefined || v === '') continue;
    if (key === 'workDirAlias') merged.workDir ??= v;
    else merged[key] = key === 'grantIssuer' ? v.split(',').map((s) => s.trim()) : v;
  }
  for (const [k, v] of Object.entries(flags)) if (k !== 'config' && v !== undefined) merged[k] = v;
  const r = MachineConfig.safeParse(merged);
  if (!r.success)
    throw new ConfigError(`Invalid configuration: ${describeZodError(r.error)}. See aegis-machine --help.`);
  if (!r.data.trustedJwks && !r.data.trustOnFirstUse)
    throw new ConfigError(
      'No trusted grant keys: set AEGIS_TRUSTED_JWKS (or --trusted-jwks) to the API’s public JWKS. --trust-on-first-use is for development only.',
    );
  return r.data;
}
