import type { Logger } from 'pino';
import type { BuildBackend } from './build/backend.js';
import { createBuildBackend } from './build/index.js';
import type { MachineConfig } from './config.js';

/** The real build backend (store + sandbox + idf.py + flash bundle, apps/machine/src/build) from the config. */
export async function loadBuildBackend(config: MachineConfig, log: Logger): Promise<BuildBackend> {
  const blog = log.child({ part: 'build' });
  return createBuildBackend({
    storeRoot: config.storeRoot,
    sandbox: config.sandbox,
    workDir: config.workDir,
    workspaceQuotaMb: config.workspaceQuotaMb,
    compilerCache: {
      scope: config.compilerCache,
      dir: config.ccacheDir,
      maxMb: config.ccacheMaxMb,
      gid: config.ccacheGid,
      retentionMs: config.ccacheRetentionDays * 24 * 3600_000,
    },
    log: { info: (m) => blog.info(m), warn: (m) => blog.warn(m) },
  });
}
