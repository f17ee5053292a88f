import type { Jwk } from '../../flash/serial-tools.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { EspctlError } from '../../errors.js';
import path from 'node:path';
import { bundleFromDir, bundleFromJob } from '../../flash/bundle-images.js';
import type { EspctlContext } from '../context.js';
import { defineTool, reportProgress } from '../tool-kit.js';
import { onJob } from './task-lookup.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The machine's bundle key when the control API knows it; a key that cannot be fetched means "unchecked". */
export async function signingKey(
  ctx: EspctlContext,
  ref: { machine_id?: string; job_id?: string },
): Promise<Jwk | undefined> {
  if (!ctx.bundleKey || (!ref.machine_id && !ref.job_id)) return undefined;
  return ctx.bundleKey(ref).catch(() => undefined);
}

export function registerFlashTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'flash.run',
      title: 'Flash a board',
      description:
        'Write firmware to a board: a flash bundle directory (firmware_path, as firmware.download writes it) or a build (job_id), on a local serial port (stdio); only changed sectors are written. Over HTTP the request goes to your open dashboard tab, which asks you to confirm and flashes over Web Serial. Bounded by timeout_sec; the port is released after.',
      input: {
        firmware_path: z.string().min(1).max(1024).optional(),
        job_id: z.string().min(1).max(100).optional(),
        port: z.string().min(1).max(256).optional().describe('Serial port, e.g. /dev/ttyUSB0 (stdio only)'),
        baud: z.number().int().min(9600).max(3_000_000).default(460800),
        erase: z.boolean().default(false).describe('Rewrite every sector instead of only the ones that differ'),
        timeout_sec: z.number().int().min(5).max(900).default(180),
      },
      output: {
        method: z.enum(['serial', 'dashboard']),
        status: z.string(),
        request_id: z.string().optional(),
        chip: z.string().optional(),
        bytes_written: z.number().int().optional(),
        verified: z.boolean().optional(),
        signature: z.enum(['verified', 'unchecked']).optional(),
        message: z.string(),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => {
      if (!args.firmware_path === !args.job_id)
        throw new EspctlError('invalid_input', 'Pass exactly one of firmware_path or job_id.');
      if (ctx.transport === 'http') {
        if (!args.job_id)
          throw new EspctlError('invalid_input', 'Over HTTP pass job_id; the dashboard fetches the firmware itself.');
        if (!ctx.flashHandoff)
          throw new EspctlError('no_dashboard', 'This server cannot hand firmware to a dashboard.');
        if (!(await ctx.flashHandoff.dashboardConnected())) {
          throw new EspctlError(
            'no_dashboard',
            'No dashboard tab is connected for your account; open the Aegis dashboard in Chrome, then run flash.run again (or flash locally with `espctl flash`).',
          );
        }
        // The dashboard fetches the firmware itself over WebRTC; the API only passes the job id.
        const req = await ctx.flashHandoff.create(ctx.tasks.find(args.job_id)?.jobId ?? args.job_id);
        const deadline = Date.now() + args.timeout_sec * 1000;
        let cur = req;
        while (cur.status === 'pending' || cur.status === 'confirmed') {
          if (Date.now() > deadline || extra.signal.aborted) break;
          await sleep(500);
          cur = (await ctx.flashHandoff.get(req.id)) ?? cur;
        }
        const message =
          cur.status === 'done'
            ? 'The dashboard flashed the board.'
            : cur.status === 'rejected'
              ? 'The user declined the flash in the dashboard.'
              : cur.status === 'expired'
                ? 'Nobody confirmed the flash in time.'
                : cur.status === 'confirmed'
                  ? 'The user confirmed and the dashboard is flashing, but it did not report completion in time; check the dashboard.'
                  : 'The dashboard has the request but nobody confirmed it yet; confirm it in the dashboard tab.';
        return { method: 'dashboard' as const, status: cur.status, request_id: req.id, message };
      }
      if (!ctx.serial) throw new EspctlError('serial_unavailable', 'Serial flashing is not available in this espctl.');
      if (!args.port)
        throw new EspctlError('invalid_input', 'Pass port: the serial device of the board, e.g. /dev/ttyUSB0.');
      const { bundle, manifest } = args.firmware_path
        ? await bundleFromDir(path.resolve(ctx.cwd, args.firmware_path))
        : await onJob(ctx, args.job_id!, async (session) =>
            bundleFromJob((await session.call('artifacts.list', {})).artifacts, (f) => session.getFile(f)),
          );
      const jobId = args.job_id ? (ctx.tasks.find(args.job_id)?.jobId ?? args.job_id) : manifest.job_id;
      const publicJwk = await signingKey(ctx, { machine_id: manifest.machine_id, job_id: jobId });
      const r = await ctx.serial.flash({
        port: args.port,
        baud: args.baud,
        erase: args.erase,
        bundle,
        publicJwk,
        timeoutMs: args.timeout_sec * 1000,
        onProgress: (w, t) => void reportProgress(extra, w, t, `flashing ${w}/${t} bytes`).catch(() => undefined),
      });
      return {
        method: 'serial' as const,
        status: 'done',
        chip: r.chip,
        bytes_written: r.bytes_written,
        verified: r.verified,
        signature: r.signature,
        message: `Flashed ${r.bytes_written} bytes (${r.sectors_written} sectors) to ${r.chip} on ${args.port}; signature ${r.signature}.`,
      };
    },
  );

  defineTool(
    server,
    {
      name: 'monitor.run',
      title: 'Read the serial monitor',
      description:
        'Read what the board prints on a local serial port for duration_sec (at most max_bytes), optionally only lines matching the filter regex. The port is released after.',
      input: {
        port: z.string().min(1).max(256),
        baud: z.number().int().min(300).max(3_000_000).default(115200),
        duration_sec: z.number().min(0.1).max(300).default(5),
        max_bytes: z
          .number()
          .int()
          .min(1)
          .max(1024 * 1024)
          .default(65536),
        filter: z.string().max(200).optional().describe('Regular expression; only matching lines are returned'),
      },
      output: { text: z.string(), bytes: z.number().int(), truncated: z.boolean(), lines: z.number().int() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args) => {
      if (ctx.transport === 'http') {
        throw new EspctlError(
          'serial_unavailable',
          'Over HTTP the server has no serial port; use the dashboard monitor, or espctl monitor locally.',
        );
      }
      if (!ctx.serial)
        throw new EspctlError('serial_unavailable', 'Serial monitoring is not available in this espctl.');
      let re: RegExp | undefined;
      if (args.filter) {
        try {
          re = new RegExp(args.filter);
        } catch {
          throw new EspctlError('invalid_input', `filter "${args.filter}" is not a valid regular expression.`);
        }
      }
      const r = await ctx.serial.monitor({
        port: args.port,
        baud: args.baud,
        durationMs: args.duration_sec * 1000,
        maxBytes: args.max_bytes,
      });
      const all = r.text.split(/\r?\n/);
      const kept = re ? all.filter((l) => re.test(l)) : all;
      return {
        text: kept.join('\n'),
        bytes: r.bytes,
        truncated: r.truncated,
        lines: kept.filter((l) => l.length > 0).length,
      };
    },
  );
}
