import { z } from 'zod';

/**
 * The `pty` channel: terminal bytes are binary frames both ways; control messages are JSON text frames.
 * The client opens the terminal with `open`; the machine answers with `exit` when the process ends.
 */
const Cols = z.number().int().min(2).max(1000);
const Rows = z.number().int().min(2).max(500);
export const PtyClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('open'),
    cols: Cols,
    rows: Rows,
    command: z.enum(['shell', 'menuconfig']).default('shell'),
  }),
  z.object({ type: z.literal('resize'), cols: Cols, rows: Rows }),
]);
export const PtyServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('exit'), code: z.number().int().nullable(), signal: z.string().nullable().optional() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type PtyClientMessage = z.input<typeof PtyClientMessage>;
export type PtyServerMessage = z.infer<typeof PtyServerMessage>;
