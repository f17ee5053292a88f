import { z } from 'zod';
import { ErrorBody, IdfVersion, Target, Uuid } from './common.js';

export const JobState = z.enum(['pending', 'assigned', 'running', 'succeeded', 'failed', 'canceled', 'expired']);
export type JobState = z.infer<typeof JobState>;

export const TERMINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'canceled', 'expired'];
export const isTerminalJobState = (s: JobState): boolean => TERMINAL_JOB_STATES.includes(s);

/** Legal transitions; anything else is refused by the API. */
export const JOB_TRANSITIONS: Record<JobState, readonly JobState[]> = {
  pending: ['assigned', 'canceled', 'expired', 'failed'],
  assigned: ['running', 'succeeded', 'failed', 'canceled'],
  running: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
  expired: [],
};

/** `build` runs a build; `attach` reconnects to the results of an earlier job on the same machine. */
export const JobKind = z.enum(['build', 'attach']);
export type JobKind = z.infer<typeof JobKind>;

/** Execution parameters, copied into the grant. */
export const JobParams = z.object({
  cpu_cores: z.number().int().min(1).max(64),
  memory_mb: z.number().int().min(128).max(65536),
  timeout_secs: z
    .number()
    .int()
    .min(10)
    .max(6 * 3600),
  target: Target.optional(),
  idf_version: IdfVersion.optional(),
});
export type JobParams = z.infer<typeof JobParams>;

/**
 * Where a waiting job stands, among the jobs that compete for the machines able to build it (its IDF version and
 * target), in the order the scheduler will start them (priority, then round-robin across users, each user's
 * running limit respected): `position` 1 is next; `estimate_secs` is when its turn comes, from the median build time
 * of recent builds of the same (IDF version, target) and when the running builds should end (null before any such
 * build finished).
 */
export const QueueInfo = z.object({
  position: z.number().int().min(1),
  estimate_secs: z.number().int().nonnegative().nullable(),
  /** Jobs that will start before this one (position − 1): the user's own earlier jobs and other users' turns. */
  ahead: z.number().int().nonnegative().optional(),
  /** Build slots of the online machines that can build this job. */
  capable_slots: z.number().int().nonnegative().optional(),
  /** Median slot time (claim → end) of the recent builds of this (IDF version, target), seconds; null if none yet. */
  median_build_secs: z.number().int().nonnegative().nullable().optional(),
});
export type QueueInfo = z.infer<typeof QueueInfo>;

/** Metadata only: never sources, logs or firmware. */
export const JobView = z.object({
  v: z.literal(1),
  id: Uuid,
  kind: JobKind,
  parent_job_id: Uuid.nullable(),
  user_id: Uuid,
  machine_id: Uuid.nullable(),
  state: JobState,
  priority: z.number().int(),
  params: JobParams,
  error: ErrorBody.nullable(),
  exit_code: z.number().int().nullable(),
  created_at: z.iso.datetime(),
  assigned_at: z.iso.datetime().nullable(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  /** Sizes of the produced images in bytes, reported by the machine (e.g. { app: 183216 }). */
  sizes: z.record(z.string(), z.number().int().nonnegative()).nullable(),
  /** While the job waits for a machine (pending with an offer): its place in the queue. */
  queue: QueueInfo.nullable().optional(),
  /**
   * When the machine deleted this build's results (retention by age or disk cap): reattach, logs and firmware are
   * gone; run the build again from the same source.
   */
  results_expired_at: z.iso.datetime().nullable().optional(),
});
export type JobView = z.infer<typeof JobView>;
