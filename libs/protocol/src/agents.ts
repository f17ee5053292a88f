import { z } from 'zod';
import { ErrorBody, IdfVersion, Target, Uuid, Version } from './common.js';
import { JobState } from './jobs.js';
import { CandidateBody, OfferBody } from './signaling.js';

/** What a machine can take right now; sent on register and every heartbeat. */
export const MachineCapacity = z.object({
  total_slots: z.number().int().min(0).max(256),
  free_slots: z.number().int().min(0).max(256),
  cpu_cores: z.number().int().min(1).max(1024),
  memory_mb: z.number().int().min(128),
});
export type MachineCapacity = z.infer<typeof MachineCapacity>;

/** One (ESP-IDF version, target) combination a machine can build: a version may not support every target. */
export const BuildCapability = z.object({ idf_version: IdfVersion, target: Target }).strict();
export type BuildCapability = z.infer<typeof BuildCapability>;

/** `POST /agents/register` and `POST /agents/heartbeat` (Bearer machine token). */
export const MachineHeartbeat = z
  .object({
    v: Version,
    name: z.string().min(1).max(128),
    agent_version: z.string().max(64),
    capacity: MachineCapacity,
    idf_versions: z.array(IdfVersion).max(64),
    targets: z.array(Target).max(32),
    /** What it can build, as pairs; `idf_versions` and `targets` above are their projections. */
    builds: z.array(BuildCapability).max(512).default([]),
    /** Jobs this machine is running; the API fails jobs it believes assigned here but missing. */
    running_job_ids: z.array(Uuid).max(256).default([]),
    /** Jobs whose results this machine deleted since its last heartbeat (retention by age or disk cap). */
    expired_job_ids: z.array(Uuid).max(1024).default([]),
    /** Public half of the machine's own Ed25519 key that signs flash bundles (a JWK with `kid`). */
    bundle_public_jwk: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type MachineHeartbeat = z.input<typeof MachineHeartbeat>;

export const HeartbeatResponse = z.object({
  v: Version,
  machine_id: Uuid,
  heartbeat_interval_secs: z.number().int().positive(),
  /** The machine is considered offline after this many seconds without a heartbeat. */
  offline_after_secs: z.number().int().positive(),
  /** Server clock, so the machine can warn about skew that would break grant expiry checks. */
  server_time: z.iso.datetime(),
  /** Jobs of this machine that their owner canceled since the last heartbeat; the machine stops them. */
  cancel_job_ids: z.array(Uuid).default([]),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

/**
 * `GET /agents/jobs?wait=&free=`: the long-poll. `free` is the machine's free build slots at the moment it polls
 * (it re-polls as soon as that changes), so the API offers jobs without waiting for a heartbeat; absent = the
 * last heartbeat's count. Jobs pinned to the machine (reattachments) take no slot and come even with free=0.
 */
export const AgentPollQuery = z
  .object({
    wait: z.coerce.number().int().min(0).max(25).default(25),
    free: z.coerce.number().int().min(0).max(256).optional(),
  })
  .strict();
export type AgentPollQuery = z.input<typeof AgentPollQuery>;

/** One job offered to a machine by `GET /agents/jobs` (long-poll). */
export const AgentJobOffer = z.object({
  job_id: Uuid,
  grant: z.string().min(1),
  offer: OfferBody,
  candidates: z.array(CandidateBody),
});
export type AgentJobOffer = z.infer<typeof AgentJobOffer>;

export const AgentPollResponse = z.object({ v: Version, jobs: z.array(AgentJobOffer) });
export type AgentPollResponse = z.infer<typeof AgentPollResponse>;

/** `POST /agents/jobs/{id}/claim` → 200 with the job, 409 when another machine won. */
export const ClaimResponse = AgentJobOffer.extend({ v: Version });
export type ClaimResponse = z.infer<typeof ClaimResponse>;

/** `POST /agents/jobs/{id}/state`: metadata only — never logs or firmware. */
export const AgentStateReport = z
  .object({
    state: JobState.exclude(['pending', 'expired']),
    exit_code: z.number().int().optional(),
    error: ErrorBody.optional(),
    sizes: z.record(z.string().max(64), z.number().int().nonnegative()).optional(),
  })
  .strict();
export type AgentStateReport = z.infer<typeof AgentStateReport>;

/** `POST /agents/jobs/{id}/candidate` from the machine. */
export const AgentCandidateBody = CandidateBody;
