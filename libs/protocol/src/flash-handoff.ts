import { z } from 'zod';
import { Uuid } from './common.js';

/**
 * Flash hand-off: over HTTP, the MCP `flash.run` tool cannot reach the user's serial port, so it asks the
 * user's open dashboard tab to flash a job's firmware. The API keeps metadata only (never firmware).
 *   POST /flash-requests                      {job_id}      → FlashRequest (created by the MCP tool)
 *   GET  /flash-requests?status=pending                     → {requests: FlashRequest[]} (dashboard polls)
 *   POST /flash-requests/:id/confirm|reject|complete        → FlashRequest
 */
export const FlashRequestStatus = z.enum(['pending', 'confirmed', 'done', 'rejected', 'expired']);
export type FlashRequestStatus = z.infer<typeof FlashRequestStatus>;

export const FlashRequest = z.object({
  id: Uuid,
  job_id: Uuid,
  status: FlashRequestStatus,
  created_at: z.iso.datetime(),
});
export type FlashRequest = z.infer<typeof FlashRequest>;

export const CreateFlashRequest = z.object({ job_id: Uuid }).strict();
export type CreateFlashRequest = z.infer<typeof CreateFlashRequest>;

export const FlashRequestList = z.object({ requests: z.array(FlashRequest) });
export type FlashRequestList = z.infer<typeof FlashRequestList>;

export const FlashRequestQuery = z.object({ status: FlashRequestStatus.optional() }).strict();

/** A pending request not confirmed within this time becomes `expired`. */
export const FLASH_REQUEST_TTL_SECS = 300;
/** The dashboard counts as connected when it polled within this time. */
export const DASHBOARD_POLL_WINDOW_SECS = 30;
