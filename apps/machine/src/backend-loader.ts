import type { Logger } from 'pino';
import type { BuildBackend } from './build/backend.js';
import type { MachineConfig } from './config.js';

type Factory = (opts: {
  storeRoot?: string;
  sandbox: 'bwrap' | 'none';
  workDir: string;
  log: Logger;
}) => BuildBackend | Promise<BuildBackend>;

/**
 * Loads the real build backend (store + sandbox + idf.py, apps/machine/src/build). Imported lazily so the agent
 * half and the build half can be developed and tested separately.
 */
export async function loadBuildBackend(config: MachineConfig, log: Logger): Promise<BuildBackend> {
  const spec = './build/index.js';
  let mod: { createBuildBackend?: Factory };
  try {
    mod = (await import(spec)) as { createBuildBackend?: Factory };
  } catch (err) {
    throw new Error(`The build backend is not available (${(err as Error).message}).`, { cause: err });
  }
  if (typeof mod.createBuildBackend !== 'function')
    throw new Error('The build backend module does not export createBuildBackend().');
  return mod.createBuildBackend({ storeRoot: config.storeRoot, sandbox: config.sandbox, workDir: config.workDir, log });
}
