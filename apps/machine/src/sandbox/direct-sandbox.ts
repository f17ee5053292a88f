import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnBinary } from './spawn-binary.js';
import { spawnTree } from './spawn-tree.js';
import type { PreparedCommand, RunIo, RunResult, SandboxSpec } from './types.js';
import type { WorkspaceSandbox } from './workspace-sandbox.js';
import { helperScript } from '../workspace/helper-program.js';

/**
 * `--sandbox=none`: runs the command directly with the machine's own rights. Only the wall-clock timeout and
 * the process-group kill apply. The runner logs a warning on every build that uses it. The workspace helper runs
 * unconfined too, so the privilege rule does not hold here (the machine's README says so).
 */
export function createDirectSandbox(): WorkspaceSandbox {
  const env = (spec: SandboxSpec): Record<string, string> => ({ ...spec.env });
  const dir = path.join(os.tmpdir(), `aegis-direct-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const helperPath = path.join(dir, `ws-helper-${process.pid}.cjs`);
  writeFileSync(helperPath, helperScript(), { mode: 0o600 });
  return {
    kind: 'none',
    privileged: false,
    helperPath,
    isIdle: () => true,
    workspacePath: (workspaceDir) => workspaceDir,
    ownerOf: () => process.getuid?.(),
    claim: async () => process.getuid?.() ?? 0,
    unclaim: async () => undefined,
    async run(spec: SandboxSpec, io: RunIo): Promise<RunResult> {
      await mkdir(path.join(spec.workspaceDir, '.home'), { recursive: true });
      const [file, ...args] = spec.command;
      return spawnTree({ file, args, env: env(spec), cwd: spec.cwd, timeoutSecs: spec.limits.timeoutSecs }, io);
    },
    async exec(spec, io) {
      const [file, ...args] = spec.command;
      return spawnBinary({ file, args, env: env(spec), cwd: spec.cwd, timeoutSecs: spec.limits.timeoutSecs }, io);
    },
    async prepare(spec: SandboxSpec): Promise<PreparedCommand> {
      await mkdir(path.join(spec.workspaceDir, '.home'), { recursive: true });
      const [file, ...args] = spec.command;
      return { file, args, env: env(spec), cwd: spec.cwd, release: () => undefined };
    },
  };
}
