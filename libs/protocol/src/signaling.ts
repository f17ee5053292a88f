import { z } from 'zod';
import { ErrorBody, Uuid } from './common.js';
import { JobState, QueueInfo } from './jobs.js';

/** Cap on SDP size: a data-channel-only offer is ~1–3 KiB; anything huge is an attack or a bug. */
export const MAX_SDP_BYTES = 64 * 1024;

export const SessionDescription = z
  .object({
    type: z.enum(['offer', 'answer']),
    sdp: z
      .string()
      .min(1)
      .max(MAX_SDP_BYTES)
      .refine((s) => s.startsWith('v=0'), 'SDP must start with "v=0"'),
  })
  .strict();
export type SessionDescription = z.infer<typeof SessionDescription>;

/** `POST /signaling/{job_id}/offer` and the machine's `POST /agents/jobs/{id}/answer`. */
export const OfferBody = SessionDescription.extend({ type: z.literal('offer') }).strict();
export const AnswerBody = SessionDescription.extend({ type: z.literal('answer') }).strict();
export type OfferBody = z.infer<typeof OfferBody>;
export type AnswerBody = z.infer<typeof AnswerBody>;

/** Trickle ICE candidate, as `RTCIceCandidateInit`. */
export const CandidateBody = z
  .object({
    candidate: z.string().max(2048),
    sdpMid: z.string().max(64).nullish(),
    sdpMLineIndex: z.number().int().min(0).max(64).nullish(),
  })
  .strict();
export type CandidateBody = z.infer<typeof CandidateBody>;

/**
 * Events of `GET /signaling/{job_id}/events` (Server-Sent Events; the SSE `event:` field is the `type`,
 * `id:` is `seq` so a reconnecting client resumes with Last-Event-ID).
 */
export const SignalingEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('assigned'),
    seq: z.number().int(),
    job_id: Uuid,
    machine_id: Uuid,
    machine_name: z.string(),
    /** The machine's bundle-signing public JWK (when it sent one), so the client can verify flash bundles. */
    bundle_public_jwk: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ type: z.literal('answer'), seq: z.number().int(), job_id: Uuid, sdp: z.string() }),
  z.object({ type: z.literal('candidate'), seq: z.number().int(), job_id: Uuid, candidate: CandidateBody }),
  z.object({
    type: z.literal('state'),
    seq: z.number().int(),
    job_id: Uuid,
    state: JobState,
    /** With `pending`: the job's place in the queue (sent again whenever it moves). */
    queue: QueueInfo.optional(),
  }),
  z.object({ type: z.literal('error'), seq: z.number().int(), job_id: Uuid, error: ErrorBody }),
]);
export type SignalingEvent = z.infer<typeof SignalingEvent>;
export type SignalingEventType = SignalingEvent['type'];
