import { z } from 'zod';
import { IdfVersion, Target, Uuid, Version } from './common.js';
import { JobState, JobView } from './jobs.js';
import { BuildCapability, MachineCapacity } from './agents.js';
import { CandidateBody } from './signaling.js';

/** REST bodies and responses of the control API (everything that is not grants, signaling or agents). */

export const Role = z.enum(['admin', 'user']);
export type Role = z.infer<typeof Role>;

export const UserView = z.object({
  id: Uuid,
  name: z.string(),
  role: Role,
  created_at: z.iso.datetime(),
  disabled: z.boolean(),
});
export type UserView = z.infer<typeof UserView>;

/** An API key as listed: never the secret, only its first characters so a person can recognise it. */
export const ApiKeyView = z.object({
  id: Uuid,
  user_id: Uuid,
  name: z.string(),
  prefix: z.string(),
  created_at: z.iso.datetime(),
  last_used_at: z.iso.datetime().nullable(),
  revoked_at: z.iso.datetime().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

/** `GET /me`. */
export const MeResponse = z.object({ v: Version, user: UserView, key_id: Uuid });
export type MeResponse = z.infer<typeof MeResponse>;

/** `POST /users` (admin). */
export const CreateUserBody = z
  .object({ name: z.string().trim().min(1).max(128), role: Role.default('user') })
  .strict();
export type CreateUserBody = z.input<typeof CreateUserBody>;
/** The user's first key is returned once, here only. */
export const CreateUserResponse = z.object({ v: Version, user: UserView, key: ApiKeyView, secret: z.string() });
export type CreateUserResponse = z.infer<typeof CreateUserResponse>;
export const UserListResponse = z.object({ v: Version, users: z.array(UserView) });
export type UserListResponse = z.infer<typeof UserListResponse>;

/** `POST /keys`: a new key for the caller (admins may pass `user_id` to make one for another user). */
export const CreateKeyBody = z
  .object({ name: z.string().trim().min(1).max(128).default('key'), user_id: Uuid.optional() })
  .strict();
export type CreateKeyBody = z.input<typeof CreateKeyBody>;
/** The secret (`aegis_u_…`) is shown once, here only. */
export const CreateKeyResponse = z.object({ v: Version, key: ApiKeyView, secret: z.string() });
export type CreateKeyResponse = z.infer<typeof CreateKeyResponse>;
export const KeyListResponse = z.object({ v: Version, keys: z.array(ApiKeyView) });
export type KeyListResponse = z.infer<typeof KeyListResponse>;

export const MachineView = z.object({
  id: Uuid,
  name: z.string(),
  online: z.boolean(),
  agent_version: z.string().nullable(),
  capacity: MachineCapacity.nullable(),
  idf_versions: z.array(IdfVersion),
  targets: z.array(Target),
  /** (ESP-IDF version, target) pairs the machine builds. */
  builds: z.array(BuildCapability),
  last_seen_at: z.iso.datetime().nullable(),
  created_at: z.iso.datetime(),
  /** Public JWK the machine signs flash bundles with, when it sent one. */
  bundle_public_jwk: z.record(z.string(), z.unknown()).nullable(),
});
export type MachineView = z.infer<typeof MachineView>;
export const MachineListResponse = z.object({ v: Version, machines: z.array(MachineView) });
export type MachineListResponse = z.infer<typeof MachineListResponse>;

/**
 * `GET /machines/keys`: the bundle-signing keys the caller may check a flash bundle against — of the machines that
 * ran one of the caller's jobs and of the machines online now (admins: every machine). A bundle's `manifest.jws`
 * names its key by the JWS header's `kid`.
 */
export const MachineKeyView = z.object({
  kid: z.string().min(1),
  machine_id: Uuid,
  machine_name: z.string(),
  online: z.boolean(),
  public_jwk: z.record(z.string(), z.unknown()),
});
export type MachineKeyView = z.infer<typeof MachineKeyView>;
export const MachineKeyListResponse = z.object({ v: Version, keys: z.array(MachineKeyView) });
export type MachineKeyListResponse = z.infer<typeof MachineKeyListResponse>;

/** `POST /machines` (admin). */
export const CreateMachineBody = z.object({ name: z.string().trim().min(1).max(128) }).strict();
export type CreateMachineBody = z.input<typeof CreateMachineBody>;
/** The machine token (`aegis_m_…`) is shown once, here only. */
export const CreateMachineResponse = z.object({ v: Version, machine: MachineView, token: z.string() });
export type CreateMachineResponse = z.infer<typeof CreateMachineResponse>;

/** `GET /jobs?limit=&cursor=&state=`: newest first; `next_cursor` is null on the last page. */
export const JobListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
    state: JobState.optional(),
  })
  .strict();
export type JobListQuery = z.input<typeof JobListQuery>;
export const JobListResponse = z.object({ v: Version, jobs: z.array(JobView), next_cursor: z.string().nullable() });
export type JobListResponse = z.infer<typeof JobListResponse>;

/** Webhooks: job state changes of the subscribing user are POSTed to `url`. */
export const WebhookEvent = z.enum(['job.state']);
export const CreateWebhookBody = z
  .object({
    url: z.url({ protocol: /^https?$/ }).max(2048),
    events: z.array(WebhookEvent).min(1).default(['job.state']),
  })
  .strict();
export type CreateWebhookBody = z.input<typeof CreateWebhookBody>;
export const WebhookView = z.object({
  id: Uuid,
  url: z.string(),
  events: z.array(WebhookEvent),
  created_at: z.iso.datetime(),
});
export type WebhookView = z.infer<typeof WebhookView>;
/** `secret` signs every delivery: header `X-Aegis-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. Shown once. */
export const CreateWebhookResponse = z.object({ v: Version, webhook: WebhookView, secret: z.string() });
export type CreateWebhookResponse = z.infer<typeof CreateWebhookResponse>;
export const WebhookListResponse = z.object({ v: Version, webhooks: z.array(WebhookView) });
export type WebhookListResponse = z.infer<typeof WebhookListResponse>;

/** The JSON body POSTed to a webhook URL. */
export const WebhookPayload = z.object({
  v: Version,
  id: Uuid,
  event: WebhookEvent,
  created_at: z.iso.datetime(),
  job: JobView,
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

export const WebhookDeliveryStatus = z.enum(['pending', 'succeeded', 'failed']);
export const WebhookDeliveryView = z.object({
  id: Uuid,
  webhook_id: Uuid,
  event: WebhookEvent,
  job_id: Uuid,
  status: WebhookDeliveryStatus,
  attempts: z.number().int(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: z.iso.datetime().nullable(),
  created_at: z.iso.datetime(),
  delivered_at: z.iso.datetime().nullable(),
});
export type WebhookDeliveryView = z.infer<typeof WebhookDeliveryView>;
export const WebhookDeliveryListResponse = z.object({ v: Version, deliveries: z.array(WebhookDeliveryView) });
export type WebhookDeliveryListResponse = z.infer<typeof WebhookDeliveryListResponse>;

/** `GET /health`. */
export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  db: z.enum(['ok', 'down']),
  driver: z.enum(['sqlite', 'postgres']),
  version: z.string(),
  time: z.iso.datetime(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** `GET /agents/jobs/{id}/candidates?after=<seq>`: the client's trickled candidates, for the machine. */
export const AgentCandidatesResponse = z.object({
  v: Version,
  candidates: z.array(z.object({ seq: z.number().int(), candidate: CandidateBody })),
});
export type AgentCandidatesResponse = z.infer<typeof AgentCandidatesResponse>;
