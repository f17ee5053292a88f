import type {
  ApiKeyView,
  JobView,
  MachineView,
  QueueInfo,
  UserView,
  WebhookDeliveryView,
  WebhookView,
} from '@aegis/protocol';
import { iso, isoOrNull } from './clock.js';
import type { ApiKeyRow, JobRow, MachineRow, UserRow, WebhookDeliveryRow, WebhookRow } from './db/entities.js';

/** Rows → wire shapes (metadata only; never a secret or a hash). */
export const userView = (u: UserRow): UserView => ({
  id: u.id,
  name: u.name,
  role: u.role,
  created_at: iso(u.createdAt),
  disabled: u.disabled,
});

export const keyView = (k: ApiKeyRow): ApiKeyView => ({
  id: k.id,
  user_id: k.userId,
  name: k.name,
  prefix: k.prefix,
  created_at: iso(k.createdAt),
  last_used_at: isoOrNull(k.lastUsedAt),
  revoked_at: isoOrNull(k.revokedAt),
});

export const machineView = (m: MachineRow, online: boolean): MachineView => ({
  id: m.id,
  name: m.name,
  online,
  agent_version: m.agentVersion,
  capacity: m.capacity,
  idf_versions: m.idfVersions,
  targets: m.targets as MachineView['targets'],
  builds: m.builds ?? [],
  last_seen_at: isoOrNull(m.lastSeenAt),
  created_at: iso(m.createdAt),
  bundle_public_jwk: m.bundlePublicJwk,
});

export const jobView = (j: JobRow, queue: QueueInfo | null = null): JobView => ({
  v: 1,
  id: j.id,
  kind: j.kind,
  parent_job_id: j.parentJobId,
  user_id: j.userId,
  machine_id: j.machineId,
  state: j.state,
  priority: j.priority,
  params: j.params,
  error: j.error,
  exit_code: j.exitCode,
  created_at: iso(j.createdAt),
  assigned_at: isoOrNull(j.assignedAt),
  started_at: isoOrNull(j.startedAt),
  finished_at: isoOrNull(j.finishedAt),
  sizes: j.sizes,
  queue,
  results_expired_at: isoOrNull(j.resultsExpiredAt),
});

export const webhookView = (w: WebhookRow): WebhookView => ({
  id: w.id,
  url: w.url,
  events: w.events as WebhookView['events'],
  created_at: iso(w.createdAt),
});

export const deliveryView = (d: WebhookDeliveryRow): WebhookDeliveryView => ({
  id: d.id,
  webhook_id: d.webhookId,
  event: d.event as WebhookDeliveryView['event'],
  job_id: d.jobId,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  next_attempt_at: isoOrNull(d.nextAttemptAt),
  created_at: iso(d.createdAt),
  delivered_at: isoOrNull(d.deliveredAt),
});
