import { GRANT_TTL_DEFAULT_SECS, GRANT_TTL_MAX_SECS, GRANT_TTL_MIN_SECS } from '@aegis/protocol';

/** Grants live 5–30 s; a request outside that range is clamped, not refused. */
export function clampTtl(requested: number | undefined): number {
  if (requested === undefined) return GRANT_TTL_DEFAULT_SECS;
  return Math.min(GRANT_TTL_MAX_SECS, Math.max(GRANT_TTL_MIN_SECS, Math.floor(requested)));
}
