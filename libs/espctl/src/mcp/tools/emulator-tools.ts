import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { DecodedFrame } from '@aegis/protocol';
import { EMULATOR_RUN_DEFAULT_SECONDS, EMULATOR_RUN_MAX_SECONDS } from '../../emulator/emulator-run.js';
import { EMULATOR_LOG_MAX_LINES, emulatorRuns } from '../../emulator/emulator-runs.js';
import type { LogBuffer } from '../../tasks/log-buffer.js';
import { EspctlError } from '../../errors.js';
import type { EspctlContext } from '../context.js';
import { defineTool, reportProgress } from '../tool-kit.js';
import { requireRemote } from './remote-guard.js';
import { taskFor } from './task-lookup.js';

const panicShape = z.object({
  kind: z.string(),
  headline: z.string(),
  arch: z.enum(['xtensa', 'riscv', 'unknown']),
  pc: z.string().optional(),
  addresses: z.array(z.string()),
  /** Decoded with the build's ELF; frames the ELF does not cover (ROM, stack noise) are left out. */
  frames: z.array(DecodedFrame),
  lines: z.array(z.string()),
  complete: z.boolean(),
});

/** The URI of a task's emulator output (a log; subscribable). */
export const emulatorOutputUri = (taskId: string): string => `emulator://${taskId}/output`;
export const EMULATOR_OUTPUT_URI = /^emulator:\/\/([^/]+)\/output$/;

export function registerEmulatorTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'emulator.run',
      title: 'Run firmware in the emulator',
      description:
        "Boot a successful build's firmware in QEMU (esp32c3, esp32) on the build machine that built it and read its serial output until `until` appears, it panics, it keeps rebooting, or `seconds` pass. Returns why it stopped (pattern, panic, reboot_loop, time_limit, exited, stopped), the end of the output, and for a panic the backtrace decoded to function:file:line with the build's ELF. `input` is typed into the UART once the app started. The whole output is the resource emulator://{task_id}/output (subscribable); a progress notification goes out per batch of output. No hardware is touched; the emulator runs sandboxed and is stopped before this returns.",
      input: {
        task_id: z.string().min(1).max(100).describe('A build task id, or the job id of an earlier build of yours'),
        seconds: z.number().int().min(1).max(EMULATOR_RUN_MAX_SECONDS).default(EMULATOR_RUN_DEFAULT_SECONDS),
        until: z.string().min(1).max(200).optional().describe('Stop as soon as this text is printed'),
        input: z
          .string()
          .max(4096)
          .optional()
          .describe('Text typed into the UART once the app started (include "\\n" to end a line)'),
        max_reboots: z
          .number()
          .int()
          .min(0)
          .max(100)
          .default(3)
          .describe('Stop with reboot_loop after this many restarts without the pattern (0: never)'),
      },
      output: {
        task_id: z.string(),
        job_id: z.string(),
        stopped_because: z.enum(['pattern', 'panic', 'reboot_loop', 'time_limit', 'exited', 'stopped']),
        chip: z.string(),
        pattern: z.string().optional(),
        panic: panicShape.optional(),
        reboots: z.number().int(),
        seconds: z.number(),
        output: z.string(),
        output_bytes: z.number().int(),
        output_truncated: z.boolean(),
        output_uri: z.string(),
        exit: z
          .object({ reason: z.string(), code: z.number().int().nullable(), detail: z.string().optional() })
          .optional(),
      },
      // Like monitor.run: reads what firmware prints; it changes nothing of the user's and no device.
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => {
      const remote = requireRemote(ctx);
      const task = await taskFor(ctx, args.task_id);
      let lines = 0;
      let bytes = 0;
      const r = await emulatorRuns(ctx.tasks).run(remote, task, {
        seconds: args.seconds,
        until: args.until,
        input: args.input,
        maxReboots: args.max_reboots,
        signal: extra.signal,
        onOutput: (b) => {
          bytes += b.length;
          const nl = b.filter((c) => c === 10).length;
          if (!nl) return;
          lines += nl;
          void reportProgress(extra, bytes, 0, `${lines} lines of serial output`).catch(() => undefined);
        },
      });
      const { frames, panic, ...rest } = r;
      return {
        ...rest,
        ...(panic ? { panic: { ...panic, frames: (frames ?? []).filter((f) => f.function !== null) } } : {}),
        output_uri: emulatorOutputUri(task.id),
      };
    },
  );

  defineTool(
    server,
    {
      name: 'emulator.stop',
      title: 'Stop the emulator',
      description:
        'Stop the emulator running a task (started by emulator.run in this session); that emulator.run then returns with stopped_because "stopped". Stopping when nothing runs changes nothing.',
      input: { task_id: z.string().min(1).max(100) },
      output: { task_id: z.string(), stopped: z.boolean(), message: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ task_id }) => {
      requireRemote(ctx);
      const task = ctx.tasks.find(task_id);
      const stopped = task ? await emulatorRuns(ctx.tasks).stop(task.id) : false;
      return {
        task_id: task?.id ?? task_id,
        stopped,
        message: stopped ? 'The emulator was stopped.' : 'No emulator was running for this task.',
      };
    },
  );

  server.registerResource(
    'emulator-output',
    new ResourceTemplate('emulator://{task_id}/output', {
      list: async () => ({
        resources: ctx.tasks
          .list()
          .filter((t) => emulatorRuns(ctx.tasks).hasOutput(t.id))
          .map((t) => ({ uri: emulatorOutputUri(t.id), name: `emulator output ${t.id}`, mimeType: 'text/plain' })),
      }),
    }),
    { title: 'Serial output of the emulator runs of a task (subscribe for updates)', mimeType: 'text/plain' },
    async (uri, { task_id }) => {
      const log = emulatorOutputOf(ctx, String(task_id));
      const text = log
        .read(0, EMULATOR_LOG_MAX_LINES)
        .lines.map((l) => l.text)
        .join('\n');
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text }] };
    },
  );
}

/** The emulator output log of a task of this session (for the resource and its subscriptions). */
export function emulatorOutputOf(ctx: EspctlContext, taskId: string): LogBuffer {
  const task = ctx.tasks.find(taskId);
  if (!task) throw new EspctlError('task_not_found', `No build task "${taskId}" in this session.`);
  return emulatorRuns(ctx.tasks).output(task.id);
}
