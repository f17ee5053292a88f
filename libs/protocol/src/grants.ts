import { z } from 'zod';
import { ChannelName, DtlsFingerprint, ErrorBody, IceServer, Uuid, Version } from './common.js';
import { JobKind, JobParams } from './jobs.js';

export const GRANT_TTL_MIN_SECS = 5;
export const GRANT_TTL_MAX_SECS = 30;
export const GRANT_TTL_DEFAULT_SECS = 15;
/** The JWS `typ` header and audience, so a grant can never be mistaken for another token. */
export const GRANT_JWS_TYP = 'aegis-grant+jwt';
export const GRANT_AUDIENCE = 'aegis-machine';

/** `POST /grant/request`. Unknown fields are refused so typos don't silently fall back to defaults. */
export const GrantRequest = z
  .object({
    peer_fingerprint: DtlsFingerprint,
    required_channels: z.array(ChannelName).min(1).max(ChannelName.options.length),
    cpu_cores: z.number().int().min(1).max(64).default(2),
    memory_mb: z.number().int().min(128).max(65536).default(2048),
    timeout_secs: z
      .number()
      .int()
      .min(10)
      .max(6 * 3600)
      .default(900),
    target: JobParams.shape.target,
    idf_version: JobParams.shape.idf_version,
    /** Requested grant lifetime; clamped to 5–30 s. */
    ttl_secs: z.number().int().positive().optional(),
    priority: z.number().int().min(-10).max(10).default(0),
    /** Reattach to an earlier job of the same user (log replay, firmware download). */
    attach_to_job_id: Uuid.optional(),
  })
  .strict();
export type GrantRequest = z.input<typeof GrantRequest>;
export type GrantRequestParsed = z.output<typeof GrantRequest>;

export const MachineCandidate = z.object({ machine_id: Uuid, name: z.string() });

export const GrantResponse = z.object({
  v: Version,
  job_id: Uuid,
  grant: z.string().min(1),
  expires_at: z.iso.datetime(),
  candidates: z.array(MachineCandidate),
  ice_servers: z.array(IceServer),
});
export type GrantResponse = z.infer<typeof GrantResponse>;

/** The payload of the grant JWS (EdDSA, `kid` in the protected header). */
export const GrantClaims = z.object({
  v: Version,
  iss: z.string().min(1),
  aud: z.literal(GRANT_AUDIENCE),
  sub: Uuid,
  jti: Uuid,
  iat: z.number().int(),
  exp: z.number().int(),
  job_id: Uuid,
  kind: JobKind,
  attach_to_job_id: Uuid.optional(),
  params: JobParams,
  channels: z.array(ChannelName).min(1),
  max_bandwidth_kbps: z.number().int().positive(),
  max_message_rate: z.number().int().positive(),
  ice_servers: z.array(IceServer),
  peer_fingerprint: DtlsFingerprint,
});
export type GrantClaims = z.infer<typeof GrantClaims>;

/** Why a machine refused a grant; reported as the job's error. */
export const GrantRefusalCode = z.enum([
  'grant_malformed',
  'grant_bad_signature',
  'grant_unknown_kid',
  'grant_wrong_issuer',
  'grant_expired',
  'grant_not_yet_valid',
  'grant_wrong_job',
  'grant_fingerprint_mismatch',
  'grant_replayed',
]);
export type GrantRefusalCode = z.infer<typeof GrantRefusalCode>;
export const GrantRefusal = ErrorBody.extend({ code: GrantRefusalCode });
export type GrantRefusal = z.infer<typeof GrantRefusal>;
