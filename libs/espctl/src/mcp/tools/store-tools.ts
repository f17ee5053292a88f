import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { Target } from '@aegis/protocol';
import { loadProjectConfig } from '../../config/project-config.js';
import { toErrorBody } from '../../errors.js';
import { defaultVersion } from '../../store/store-catalog.js';
import type { EspctlContext } from '../context.js';
import { openProject, projectInput } from '../project-input.js';
import { defineTool } from '../tool-kit.js';
import { runDoctor, doctorShape } from './doctor.js';

const versionShape = z.object({
  version: z.string(),
  default: z.boolean(),
  targets: z.array(z.string()),
});

export function registerStoreTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'store_versions',
      title: 'Store IDF versions',
      description:
        'List the ESP-IDF versions in the toolchain store (local store in plan-only mode, the build machines in remote mode), with their targets.',
      input: {},
      output: {
        source: z.string(),
        location: z.string().optional(),
        default: z.string().optional(),
        versions: z.array(versionShape),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async () => {
      const c = await ctx.catalog();
      return { source: c.source, location: c.location, default: defaultVersion(c), versions: c.versions };
    },
  );

  defineTool(
    server,
    {
      name: 'idf.versions',
      title: 'IDF versions for a target',
      description:
        'The ESP-IDF versions that can build a given target (all when target is omitted), newest first, and the one a build would use.',
      input: { target: Target.optional() },
      output: { versions: z.array(z.string()), default: z.string().optional() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ target }) => {
      const c = await ctx.catalog();
      const fit = c.versions.filter((v) => !target || v.targets.includes(target));
      const sorted = fit.map((v) => v.version).sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
      const d = fit.find((v) => v.default)?.version ?? sorted[0];
      return { versions: sorted, default: d };
    },
  );

  defineTool(
    server,
    {
      name: 'doctor',
      aliases: ['doctor.run'],
      title: 'Check the setup',
      description:
        'Check: control plane reachable, key accepted, clock skew, project parses, IDF version available, store present. Plan-only mode skips the network checks (no call is made).',
      input: { ...projectInput },
      output: doctorShape,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args) => {
      const project = openProject(ctx, args);
      return runDoctor(ctx, async () => {
        try {
          return { ok: true as const, config: await loadProjectConfig(project), label: project.label };
        } catch (err) {
          return { ok: false as const, error: toErrorBody(err), label: project.label };
        }
      });
    },
  );
}
