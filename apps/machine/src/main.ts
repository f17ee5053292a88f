import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { loadBuildBackend } from './backend-loader.js';
import { runMachine } from './run.js';

export { Agent } from './agent.js';
export { loadConfig, buildCli, MachineConfig } from './config.js';
export { runMachine, rtcBaseFromConfig } from './run.js';
export { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`aegis-machine: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // werift rejects promises internally on some peer misbehaviour (e.g. a DCEP ACK for a closed stream); one bad
  // peer must not take down every build on this machine.
  process.on('unhandledRejection', (reason) =>
    log.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection'),
  );
  const backend = await loadBuildBackend(config, log);
  const agent = await runMachine(config, backend, log);
  // First signal: take no new jobs and let running builds finish (up to 10 min); a second one stops at once.
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) {
      log.warn({ sig }, 'stopping now; running builds are abandoned');
      process.exit(1);
    }
    stopping = true;
    log.info({ sig, activeJobs: agent.registry.active().length }, 'draining: no new jobs, waiting for running builds');
    void agent.drain(10 * 60_000).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry || process.env.AEGIS_MACHINE_MAIN === '1')
  main().catch((err: Error) => {
    process.stderr.write(`aegis-machine: ${err.message}\n`);
    process.exit(1);
  });
