import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { spawnTree } from './spawn-tree.js';
import type { PreparedCommand, RunIo, RunResult, Sandbox, SandboxSpec } from './types.js';

/**
 * `--sandbox=none`: runs the command directly with the machine's own rights. Only the wall-clock timeout and
 * the process-group kill apply. The runner logs a warning on every build that uses it.
 */
export function createDirectSandbox(): Sandbox {
  const env = (spec: SandboxSpec): Record<string, string> => ({ ...spec.env });
  return {
    kind: 'none',
    isIdle: () => true,
    workspacePath: (workspaceDir) => workspaceDir,
    async run(spec: SandboxSpec, io: RunIo): Promise<RunResult> {
      await mkdir(path.join(spec.workspaceDir, '.home'), { recursive: true });
      const [file, ...args] = spec.command;
      return spawnTree({ file, args, env: env(spec), cwd: spec.cwd, timeoutSecs: spec.limits.timeoutSecs }, io);
    },
    async prepare(spec: SandboxSpec): Promise<PreparedCommand> {
      await mkdir(path.join(spec.workspaceDir, '.home'), { recursive: true });
      const [file, ...args] = spec.command;
      return { file, args, env: env(spec), cwd: spec.cwd, release: () => undefined };
    },
  };
}
