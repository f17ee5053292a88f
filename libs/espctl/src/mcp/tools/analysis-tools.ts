import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { SizeComponent, SizeDetail, SizeReport } from '@aegis/protocol';
import { createSbom } from '../../analysis/sbom.js';
import { sizeResult } from '../../analysis/size-detail.js';
import { loadProjectConfig } from '../../config/project-config.js';
import { EspctlError } from '../../errors.js';
import type { EspctlContext } from '../context.js';
import { openProject, projectInput } from '../project-input.js';
import { defineTool } from '../tool-kit.js';
import { onJob } from './task-lookup.js';

export function registerAnalysisTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'size.run',
      title: 'Firmware size',
      description:
        'Run idf.py size on the finished build: summary (flash/RAM totals), components (per library) or files (per object).',
      input: {
        task_id: z.string().min(1).max(100),
        detail: SizeDetail.default('summary'),
      },
      output: {
        detail: z.string(),
        summary: SizeReport.optional(),
        components: z.array(SizeComponent).optional().describe('Per archive (lib<name>.a), largest first.'),
        files: z.array(SizeComponent).optional().describe('Per object file, largest first.'),
        report: z.record(z.string(), z.unknown()),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ task_id, detail }) => sizeResult(detail, await onJob(ctx, task_id, (s) => s.call('size', { detail }))),
  );

  defineTool(
    server,
    {
      name: 'sbom.create',
      title: 'Software bill of materials',
      description:
        'SPDX 2.3 JSON listing the project, ESP-IDF version and components (local and from idf_component.yml). With task_id, the SBOM the build machine made, passed on as it is.',
      input: { ...projectInput, task_id: z.string().min(1).max(100).optional() },
      output: { spdx: z.record(z.string(), z.unknown()), source: z.enum(['project', 'build']) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false },
    },
    async (args) => {
      if (args.task_id) {
        return {
          spdx: await onJob(ctx, args.task_id, (s) => s.call('sbom', {})),
          source: 'build' as const,
        };
      }
      const project = openProject(ctx, args);
      const config = await loadProjectConfig(project);
      if (!config.hasCMakeLists)
        throw new EspctlError('not_a_project', `${project.label} has no CMakeLists.txt; point at an ESP-IDF project.`);
      return { spdx: await createSbom(project, config, new Date()), source: 'project' as const };
    },
  );

  defineTool(
    server,
    {
      name: 'diag.run',
      title: 'Build machine diagnostics',
      description: "Checks on the build machine for this task's job (toolchain, disk, sandbox).",
      input: { task_id: z.string().min(1).max(100) },
      output: { checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ task_id }) => onJob(ctx, task_id, (s) => s.call('diag', {})),
  );
}
