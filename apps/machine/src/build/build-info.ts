import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { IdfVersion, Target } from '@aegis/protocol';
import { artifactsDirOf } from '../workspace/layout.js';

/** `<job dir>/artifacts/build-info.json`: what `decode`, `size` and `terminal` need about the last build. */
export const BuildInfo = z.object({
  target: Target,
  idfVersion: IdfVersion,
  project: z.string(),
  elf: z.string().regex(/^[^/\\]+$/),
  toolPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/)
    .optional(),
});
export type BuildInfo = z.infer<typeof BuildInfo>;

/** Beside the workspace, in the machine's own job directory (workspace/layout.ts). */
export { artifactsDirOf } from '../workspace/layout.js';

export async function writeBuildInfo(workspaceDir: string, info: BuildInfo): Promise<void> {
  await writeFile(path.join(artifactsDirOf(workspaceDir), 'build-info.json'), JSON.stringify(info), { mode: 0o644 });
}

export async function readBuildInfo(workspaceDir: string): Promise<BuildInfo | undefined> {
  const text = await readFile(path.join(artifactsDirOf(workspaceDir), 'build-info.json'), 'utf8').catch(
    () => undefined,
  );
  if (!text) return undefined;
  const r = BuildInfo.safeParse(JSON.parse(text));
  return r.success ? r.data : undefined;
}
