import 'reflect-metadata';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

const cfg = loadConfig();
const log = createLogger(cfg.logLevel);
try {
  const server = await startServer(cfg, log);
  // Launchers (testkit, npm start) wait for this line, so it is printed whatever LOG_LEVEL says.
  const line = {
    level: 30,
    time: Date.now(),
    svc: 'api',
    url: server.url,
    db: cfg.databaseUrl ? 'postgres' : 'sqlite',
  };
  process.stdout.write(JSON.stringify({ ...line, data_dir: cfg.dataDir, msg: 'listening' }) + '\n');
  let closing = false;
  const shutdown = (sig: string) => {
    if (closing) return;
    closing = true;
    log.info({ sig }, 'shutting down');
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (e) {
  log.fatal({ err: { message: (e as Error).message, stack: (e as Error).stack } }, 'failed to start');
  process.exit(1);
}
