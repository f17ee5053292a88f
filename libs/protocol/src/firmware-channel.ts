import { z } from 'zod';
import { ErrorBody, Sha256Hex } from './common.js';

/**
 * The `firmware` channel: control messages are JSON text frames, file bytes are binary frames.
 * Client → machine `get` (with `offset` > 0 to resume after a drop); machine → client `header`, binary
 * chunks in order starting at `offset`, then `end`. One transfer at a time per channel.
 */
export const FirmwareGet = z.object({
  type: z.literal('get'),
  name: z.string().min(1).max(255),
  offset: z.number().int().nonnegative().default(0),
});
export const FirmwareHeader = z.object({
  type: z.literal('header'),
  name: z.string(),
  size: z.number().int().nonnegative(),
  sha256: Sha256Hex,
  offset: z.number().int().nonnegative(),
});
export const FirmwareEnd = z.object({ type: z.literal('end'), name: z.string(), size: z.number().int().nonnegative() });
export const FirmwareError = z.object({ type: z.literal('error'), name: z.string().optional(), error: ErrorBody });

export const FirmwareClientMessage = z.discriminatedUnion('type', [FirmwareGet]);
export const FirmwareServerMessage = z.discriminatedUnion('type', [FirmwareHeader, FirmwareEnd, FirmwareError]);
export type FirmwareClientMessage = z.input<typeof FirmwareClientMessage>;
export type FirmwareServerMessage = z.infer<typeof FirmwareServerMessage>;
