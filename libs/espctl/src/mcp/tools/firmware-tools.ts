import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Artifact } from '@aegis/protocol';
import { checkRelPath } from '../../config/project-files.js';
import { EspctlError } from '../../errors.js';
import { withSession } from '../../remote/remote-build.js';
import type { RemoteSession } from '../../remote/remote-connector.js';
import type { BuildTask } from '../../tasks/task-registry.js';
import type { EspctlContext } from '../context.js';
import { defineTool } from '../tool-kit.js';
import { onJob, taskFor } from './task-lookup.js';

/** Over HTTP downloads come back inline (base64); keep the reply bounded. */
export const INLINE_DOWNLOAD_MAX_BYTES = 8 * 1024 * 1024;
const FIRMWARE_KINDS = new Set(['bundle-manifest', 'bundle-signature', 'image', 'merged', 'web-manifest']);

const fileShape = z.object({
  name: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  path: z.string().optional(),
  content_base64: z.string().optional(),
});

async function download(
  ctx: EspctlContext,
  task: BuildTask,
  pick: (a: Artifact) => boolean,
  outputDir: string | undefined,
): Promise<z.infer<typeof fileShape>[]> {
  if (task.state !== 'succeeded') {
    throw new EspctlError(
      'build_not_succeeded',
      `The build is ${task.state}; firmware exists only after a successful build.`,
    );
  }
  return withSession(ctx.remote, task, (session) => fetchFiles(ctx, session, pick, outputDir));
}

async function fetchFiles(
  ctx: EspctlContext,
  session: RemoteSession,
  pick: (a: Artifact) => boolean,
  outputDir: string | undefined,
): Promise<z.infer<typeof fileShape>[]> {
  const { artifacts } = await session.call('artifacts.list', {});
  const chosen = artifacts.filter(pick);
  if (chosen.length === 0) throw new EspctlError('artifact_not_found', 'The build produced no matching artifact.');
  if (ctx.transport === 'http') {
    const total = chosen.reduce((n, a) => n + a.size, 0);
    if (total > INLINE_DOWNLOAD_MAX_BYTES) {
      throw new EspctlError(
        'download_too_large',
        `${total} bytes is over the ${INLINE_DOWNLOAD_MAX_BYTES}-byte inline limit; ask for fewer names.`,
      );
    }
  } else if (!outputDir) {
    throw new EspctlError('invalid_input', 'Pass output_dir: the directory to write the firmware to.');
  }
  const out: z.infer<typeof fileShape>[] = [];
  for (const a of chosen) {
    const bytes = await session.getFile(a.name);
    const sum = createHash('sha256').update(bytes).digest('hex');
    if (sum !== a.sha256 || bytes.length !== a.size) {
      throw new EspctlError(
        'checksum_mismatch',
        `${a.name} arrived with a different sha256 than listed; download again.`,
      );
    }
    if (ctx.transport === 'http') {
      out.push({ name: a.name, size: a.size, sha256: sum, content_base64: Buffer.from(bytes).toString('base64') });
    } else {
      const dest = path.resolve(ctx.cwd, outputDir!, checkRelPath(a.name));
      await mkdir(path.dirname(dest), { recursive: true });
      await writeFile(dest, bytes);
      out.push({ name: a.name, size: a.size, sha256: sum, path: dest });
    }
  }
  return out;
}

export function registerFirmwareTools(server: McpServer, ctx: EspctlContext): void {
  const jobInput = {
    job_id: z.string().min(1).max(100).describe('Job id (or task id) of a successful build'),
    output_dir: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('Where to write the files (stdio). Over HTTP files come back base64.'),
  };

  defineTool(
    server,
    {
      name: 'firmware.list',
      title: 'List firmware files',
      description:
        'The flash bundle files of a build (manifest, signature, images, merged image) with size and sha256.',
      input: { task_id: z.string().min(1).max(100) },
      output: {
        files: z.array(z.object({ name: z.string(), size: z.number(), sha256: z.string(), kind: z.string() })),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ task_id }) => {
      const { artifacts } = await onJob(ctx, task_id, (s) => s.call('artifacts.list', {}));
      return { files: artifacts.filter((a) => FIRMWARE_KINDS.has(a.kind)) };
    },
  );

  defineTool(
    server,
    {
      name: 'firmware.download',
      title: 'Download firmware',
      description:
        'Download the flash bundle of a successful build over the firmware channel, checking every sha256. Optionally only some names.',
      input: { ...jobInput, names: z.array(z.string().min(1).max(255)).max(64).optional() },
      output: { job_id: z.string(), output_dir: z.string().optional(), files: z.array(fileShape) },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ job_id, output_dir, names }) => {
      const task = await taskFor(ctx, job_id);
      // Over HTTP the merged image (padded to the flash size) is left out unless asked for by name.
      const wanted = (a: Artifact): boolean =>
        names
          ? names.includes(a.name)
          : FIRMWARE_KINDS.has(a.kind) && !(ctx.transport === 'http' && a.kind === 'merged');
      const files = await download(ctx, task, wanted, output_dir);
      return {
        job_id: task.jobId ?? job_id,
        output_dir: output_dir ? path.resolve(ctx.cwd, output_dir) : undefined,
        files,
      };
    },
  );

  defineTool(
    server,
    {
      name: 'elf.download',
      title: 'Download the ELF',
      description:
        'Download the application ELF (with symbols, for gdb and addr2line) of a successful build, sha256-checked.',
      input: jobInput,
      output: { job_id: z.string(), output_dir: z.string().optional(), files: z.array(fileShape) },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ job_id, output_dir }) => {
      const task = await taskFor(ctx, job_id);
      const files = await download(ctx, task, (a) => a.kind === 'elf', output_dir);
      return {
        job_id: task.jobId ?? job_id,
        output_dir: output_dir ? path.resolve(ctx.cwd, output_dir) : undefined,
        files,
      };
    },
  );
}
