import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type {
  BuildCapability,
  ChannelName,
  ErrorBody,
  JobKind,
  JobParams,
  JobState,
  MachineCapacity,
  Role,
} from '@aegis/protocol';
import { boolTransformer, jsonTransformer, msTransformer } from './columns.js';

const ms = { type: 'bigint', transformer: msTransformer } as const;
const msNull = { type: 'bigint', nullable: true, transformer: msTransformer } as const;
const json = { type: 'text', transformer: jsonTransformer } as const;
const jsonNull = { type: 'text', nullable: true, transformer: jsonTransformer } as const;

@Entity('users')
export class UserRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ type: 'varchar', length: 128 }) name: string;
  @Column({ type: 'varchar', length: 16 }) role: Role;
  @Column({ type: 'integer', default: 0, transformer: boolTransformer }) disabled: boolean;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
}

@Entity('api_keys')
export class ApiKeyRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ name: 'user_id', type: 'varchar', length: 36 }) userId: string;
  @Column({ type: 'varchar', length: 128 }) name: string;
  @Column({ type: 'varchar', length: 32 }) prefix: string;
  @Column({ type: 'varchar', length: 64 }) hash: string;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
  @Column({ name: 'last_used_at', ...msNull }) lastUsedAt: number | null;
  @Column({ name: 'revoked_at', ...msNull }) revokedAt: number | null;
}

@Entity('machines')
export class MachineRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ type: 'varchar', length: 128 }) name: string;
  @Column({ name: 'token_hash', type: 'varchar', length: 64 }) tokenHash: string;
  @Column({ name: 'agent_version', type: 'varchar', length: 64, nullable: true }) agentVersion: string | null;
  @Column(jsonNull) capacity: MachineCapacity | null;
  @Column({ name: 'idf_versions', ...json }) idfVersions: string[];
  @Column(json) targets: string[];
  @Column(json) builds: BuildCapability[];
  @Column({ name: 'bundle_public_jwk', ...jsonNull }) bundlePublicJwk: Record<string, unknown> | null;
  @Column({ name: 'last_seen_at', ...msNull }) lastSeenAt: number | null;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
}

@Entity('jobs')
export class JobRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ name: 'user_id', type: 'varchar', length: 36 }) userId: string;
  @Column({ type: 'varchar', length: 16 }) kind: JobKind;
  @Column({ name: 'parent_job_id', type: 'varchar', length: 36, nullable: true }) parentJobId: string | null;
  /** Attach jobs may only go to the machine that ran their parent. */
  @Column({ name: 'pinned_machine_id', type: 'varchar', length: 36, nullable: true }) pinnedMachineId: string | null;
  @Column({ name: 'machine_id', type: 'varchar', length: 36, nullable: true }) machineId: string | null;
  @Column({ type: 'varchar', length: 16 }) state: JobState;
  @Column({ type: 'integer' }) priority: number;
  @Column(json) params: JobParams;
  @Column(json) channels: ChannelName[];
  @Column({ name: 'grant_jws', type: 'text' }) grantJws: string;
  @Column(jsonNull) offer: { type: 'offer'; sdp: string } | null;
  @Column({ name: 'offered_at', ...msNull }) offeredAt: number | null;
  @Column({ name: 'expires_at', ...ms }) expiresAt: number;
  @Column(jsonNull) error: ErrorBody | null;
  @Column({ name: 'exit_code', type: 'integer', nullable: true }) exitCode: number | null;
  @Column(jsonNull) sizes: Record<string, number> | null;
  /** 0 = no, 1 = canceled by the owner and not yet told to the machine, 2 = told. */
  @Column({ name: 'cancel_requested', type: 'integer', default: 0 }) cancelRequested: number;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
  @Column({ name: 'assigned_at', ...msNull }) assignedAt: number | null;
  @Column({ name: 'started_at', ...msNull }) startedAt: number | null;
  @Column({ name: 'finished_at', ...msNull }) finishedAt: number | null;
  /** When the machine deleted this job's results (retention by age or disk cap). */
  @Column({ name: 'results_expired_at', ...msNull }) resultsExpiredAt: number | null;
  /** When the client closed its last signaling stream (null while one is open, or before the first). */
  @Column({ name: 'client_left_at', ...msNull }) clientLeftAt: number | null;
}

/** Signaling messages: `audience` 'client' rows are the SSE stream, 'machine' rows are the client's candidates. */
@Entity('signaling_events')
export class SignalingEventRow {
  @PrimaryGeneratedColumn({ type: 'integer' }) seq: number;
  @Column({ name: 'job_id', type: 'varchar', length: 36 }) jobId: string;
  @Column({ type: 'varchar', length: 8 }) audience: 'client' | 'machine';
  @Column({ type: 'varchar', length: 16 }) type: string;
  @Column(json) payload: Record<string, unknown>;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
  @Column({ name: 'expires_at', ...ms }) expiresAt: number;
}

@Entity('signing_keys')
export class SigningKeyRow {
  @PrimaryColumn({ type: 'varchar', length: 64 }) kid: string;
  @Column({ name: 'public_jwk', ...json }) publicJwk: Record<string, unknown>;
  @Column({ name: 'private_jwk', ...json }) privateJwk: Record<string, unknown>;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
  @Column({ name: 'retired_at', ...msNull }) retiredAt: number | null;
}

@Entity('webhooks')
export class WebhookRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ name: 'user_id', type: 'varchar', length: 36 }) userId: string;
  @Column({ type: 'text' }) url: string;
  @Column(json) events: string[];
  @Column({ type: 'varchar', length: 128 }) secret: string;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
  @Column({ name: 'deleted_at', ...msNull }) deletedAt: number | null;
}

@Entity('webhook_deliveries')
export class WebhookDeliveryRow {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id: string;
  @Column({ name: 'webhook_id', type: 'varchar', length: 36 }) webhookId: string;
  @Column({ type: 'varchar', length: 32 }) event: string;
  @Column({ name: 'job_id', type: 'varchar', length: 36 }) jobId: string;
  @Column({ type: 'text' }) payload: string;
  @Column({ type: 'varchar', length: 16 }) status: 'pending' | 'succeeded' | 'failed';
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ name: 'last_status_code', type: 'integer', nullable: true }) lastStatusCode: number | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  @Column({ name: 'next_attempt_at', ...msNull }) nextAttemptAt: number | null;
  @Column({ name: 'locked_until', ...msNull }) lockedUntil: number | null;
  @Column({ name: 'created_at', ...ms }) createdAt: number;
  @Column({ name: 'delivered_at', ...msNull }) deliveredAt: number | null;
}

export const ENTITIES = [
  UserRow,
  ApiKeyRow,
  MachineRow,
  JobRow,
  SignalingEventRow,
  SigningKeyRow,
  WebhookRow,
  WebhookDeliveryRow,
];
