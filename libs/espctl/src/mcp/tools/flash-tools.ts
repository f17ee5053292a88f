import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { EspctlError } from '../../errors.js';
import { imagesFromJob, imagesFromPath } from '../../flash/bundle-images.js';
import type { FlashImage } from '../../flash/serial-tools.js';
import type { EspctlContext } from '../context.js';
import { defineTool, reportProgress } from '../tool-kit.js';
import { onJob } from './task-lookup.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function registerFlashTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'flash.run',
      title: 'Flash a board',
      description:
        'Write firmware to a board: a flash bundle directory / .bin file (firmware_path) or a build (job_id), on a local serial port (stdio); only changed sectors are written. Over HTTP the request goes to your open dashboard tab, which asks you to confirm and flashes over Web Serial. Bounded by timeout_sec; the port is released after.',
      input: {
        firmware_path: z.string().min(1).max(1024).optional(),
        job_id: z.string().min(1).max(100).optional(),
        port: z.string().min(1).max(256).optional().describe('Serial port, e.g. /dev/ttyUSB0 (stdio only)'),
        baud: z.number().int().min(9600).max(3_000_000).default(460800),
        erase: z.boolean().default(false).describe('Erase the whole flash first'),
        address: z.number().int().nonnegative().default(0).describe('Flash offset for a single .bin file'),
        timeout_sec: z.number().int().min(5).max(900).default(180),
      },
      output: {
        method: z.enum(['serial', 'dashboard']),
        status: z.string(),
        request_id: z.string().optional(),
        chip: z.string().optional(),
        bytes_written: z.number().int().optional(),
        verified: z.boolean().optional(),
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
                : 'The dashboard has the request; confirm it there. Call flash.run again to check.';
        return { method: 'dashboard' as const, status: cur.status, request_id: req.id, message };
      }
      if (!ctx.serial) throw new EspctlError('serial_unavailable', 'Serial flashing is not available in this espctl.');
      if (!args.port)
        throw new EspctlError('invalid_input', 'Pass port: the serial device of the board, e.g. /dev/ttyUSB0.');
      let images: FlashImage[];
      if (args.firmware_path) images = await imagesFromPath(args.firmware_path, args.address);
      else {
        images = await onJob(ctx, args.job_id!, async (session) =>
          imagesFromJob((await session.call('artifacts.list', {})).artifacts, (f) => session.getFile(f)),
        );
      }
      const r = await ctx.serial.flash({
        port: args.port,
        baud: args.baud,
        erase: args.erase,
        images,
        timeoutMs: args.timeout_sec * 1000,
        onProgress: (w, t) => void reportProgress(extra, w, t, `flashing ${w}/${t} bytes`).catch(() => undefined),
      });
      return {
        method: 'serial' as const,
        status: 'done',
        ...r,
        message: `Flashed ${r.bytes_written} bytes to ${r.chip} on ${args.port}.`,
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
