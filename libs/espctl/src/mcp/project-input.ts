import path from 'node:path';
import { z } from 'zod';
import { DiskProject, InlineProject, INLINE_MAX_BYTES, type ProjectFiles } from '../config/project-files.js';
import { EspctlError } from '../errors.js';
import type { EspctlContext } from './context.js';

/** Every project tool takes the project either as a directory (stdio) or inline (required over HTTP). */
export const projectInput = {
  project_dir: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe('Project directory on this machine (stdio only). Default: the server working directory.'),
  files: z
    .record(z.string().max(512), z.string())
    .optional()
    .describe(
      `The project inline as a map of relative path → text content (required over HTTP; max ${INLINE_MAX_BYTES} bytes).`,
    ),
};

export function openProject(
  ctx: EspctlContext,
  args: { project_dir?: string; files?: Record<string, string> },
): ProjectFiles {
  if (args.project_dir && args.files) {
    throw new EspctlError('invalid_input', 'Pass either project_dir or files, not both.');
  }
  if (ctx.transport === 'http') {
    if (args.project_dir) {
      throw new EspctlError(
        'project_dir_unavailable',
        'This MCP server runs remotely and cannot read your disk; pass the project inline as "files" (path → content).',
      );
    }
    return new InlineProject(args.files ?? {});
  }
  if (args.files) return new InlineProject(args.files);
  return new DiskProject(path.resolve(ctx.cwd, args.project_dir ?? '.'));
}

/** Tools that write return what they wrote; for inline projects also the contents, for the caller to save. */
export const writeResult = {
  project: z.string().describe('Project directory, or "(inline project)"'),
  written: z.array(z.string()).describe('Files written (relative paths)'),
  skipped: z.array(z.string()).describe('Files left as they were'),
  files: z
    .record(z.string(), z.string())
    .optional()
    .describe('Inline projects only: the written files, path → content, for the caller to save'),
};

export function writeOutput(
  project: ProjectFiles,
  written: string[],
  skipped: string[],
): z.infer<z.ZodObject<typeof writeResult>> {
  const out: z.infer<z.ZodObject<typeof writeResult>> = { project: project.label, written, skipped };
  if (project instanceof InlineProject) out.files = Object.fromEntries(project.changed);
  return out;
}
