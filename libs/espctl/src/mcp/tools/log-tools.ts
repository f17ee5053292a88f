import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { BuildDiagnostic, isTerminalJobState, LogLine, SizeReport } from '@aegis/protocol';
import { EspctlError } from '../../errors.js';
import { parseBuildDiagnostics, parseSizeReport } from '../../analysis/esp-parsers.js';
import { backfillLogs } from '../../remote/remote-build.js';
import type { EspctlContext } from '../context.js';
import { defineTool } from '../tool-kit.js';
import { onJob, taskFor } from './task-lookup.js';

const artifactShape = z.object({ name: z.string(), size: z.number(), sha256: z.string(), kind: z.string() });

export function registerLogTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'logs.tail',
      title: 'Read build log',
      description:
        'Read a build log page. With since_seq, returns lines from that seq on (pass next_seq back for the next page: no gaps, no repeats); without it, the last `lines` lines. more=true means lines are waiting.',
      input: {
        task_id: z.string().min(1).max(100),
        lines: z.number().int().min(1).max(5000).default(200),
        since_seq: z.number().int().nonnegative().optional(),
      },
      output: { lines: z.array(LogLine), next_seq: z.number().int(), more: z.boolean() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ task_id, lines, since_seq }) => {
      const task = await taskFor(ctx, task_id);
      if (isTerminalJobState(task.state)) await task.settled;
      else await backfillLogs(task).catch(() => undefined);
      return since_seq === undefined ? task.logs.tail(lines) : task.logs.read(since_seq, lines);
    },
  );

  defineTool(
    server,
    {
      name: 'list_artifacts',
      aliases: ['artifacts.list'],
      title: 'List build artifacts',
      description:
        'The files a finished build produced (bundle manifest, images, ELF, map, reports) with size and sha256.',
      input: { task_id: z.string().min(1).max(100) },
      output: { artifacts: z.array(artifactShape) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ task_id }) => onJob(ctx, task_id, (s) => s.call('artifacts.list', {})),
  );

  defineTool(
    server,
    {
      name: 'artifacts.manifest',
      title: 'Flash bundle manifest',
      description:
        'The signed flash bundle manifest: each part with offset, size and sha256, chip, flash settings, IDF version; plus its JWS.',
      input: { task_id: z.string().min(1).max(100) },
      output: { manifest: z.record(z.string(), z.unknown()), jws: z.string() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ task_id }) => onJob(ctx, task_id, (s) => s.call('artifacts.manifest', {})),
  );

  defineTool(
    server,
    {
      name: 'parse_build_errors',
      title: 'Parse build diagnostics',
      description:
        'Extract the diagnostics of every ESP-IDF build tool (gcc/g++, ld, CMake, ninja, make, Kconfig, component manager, Python, idf.py) from a build log as {file, line, column, severity, message, tool, log_line, summary}. Pass the log text or a task_id.',
      input: {
        log: z
          .string()
          .max(8 * 1024 * 1024)
          .optional(),
        task_id: z.string().min(1).max(100).optional(),
      },
      output: { diagnostics: z.array(BuildDiagnostic), count: z.number().int() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ log, task_id }) => {
      let text = log;
      if (text === undefined) {
        if (!task_id) throw new EspctlError('invalid_input', 'Pass the log text as "log" or a "task_id".');
        const task = await taskFor(ctx, task_id);
        if (isTerminalJobState(task.state)) await task.settled;
        else await backfillLogs(task).catch(() => undefined);
        text = task.logs
          .read(0, 1_000_000)
          .lines.map((l) => l.text)
          .join('\n');
      }
      const diagnostics = parseBuildDiagnostics(text);
      return { diagnostics, count: diagnostics.length };
    },
  );

  defineTool(
    server,
    {
      name: 'parse_size_report',
      title: 'Parse a size report',
      description:
        'Summarise `idf.py size` output (legacy --format json, json2, or the text table): flash and RAM use per region and per component.',
      input: {
        report: z
          .string()
          .min(2)
          .max(4 * 1024 * 1024)
          .describe('The output of idf.py size, as text'),
      },
      output: { summary: SizeReport },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ report }) => ({ summary: parseSizeReport(report) }),
  );
}
