import 'reflect-metadata';
import type { ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { AppModule } from './app.module.js';
import { systemClock, type Clock } from './clock.js';
import { Issuer, type Config } from './config.js';
import { openDatabase } from './db/data-source.js';
import type { Logger } from './logger.js';
import { ErrorFilter } from './http/error-filter.js';
import { mountOpenApi } from './http/openapi.js';
import { Metrics } from './health/metrics.js';
import { UsersService } from './users/users.service.js';
import { bootstrapAdmin } from './users/bootstrap.js';
import { SigningKeysService } from './grants/signing-keys.service.js';
import { Sweeper } from './jobs/sweeper.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { Notifier } from './db/notifier.js';

export interface Server {
  app: NestExpressApplication;
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  clock?: Clock;
  extraModules?: ModuleMetadata['imports'];
  /** Start the sweeper and webhook worker (default true). */
  workers?: boolean;
}

/** Open the database (running migrations), build the app, listen. */
export async function startServer(cfg: Config, log: Logger, opts: ServerOptions = {}): Promise<Server> {
  const ds = await openDatabase(cfg);
  const issuer = new Issuer(cfg.publicUrl);
  const clock = opts.clock ?? systemClock;
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot({ cfg, ds, log, clock, issuer, extraModules: opts.extraModules }),
    { logger: false, bodyParser: false, abortOnError: false },
  );
  app.useBodyParser('json', { limit: '256kb' });
  app.useGlobalFilters(new ErrorFilter(log));
  app.enableCors({
    origin: (origin: string | undefined, cb: (e: Error | null, allow?: boolean) => void) =>
      cb(null, !!origin && cfg.allowedOrigins.includes(origin)),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
    exposedHeaders: ['Retry-After'],
    maxAge: 600,
  });
  app.disable('x-powered-by');
  // The client address (failed-auth throttling) is the socket's peer unless the operator names trusted proxies.
  app.set('trust proxy', cfg.trustProxy);
  // API answers are fresh per request; hashing every body for an ETag costs CPU and helps no client here.
  app.set('etag', false);
  const metrics = app.get(Metrics);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const t0 = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      metrics.httpLatency.observe({ method: req.method, route, status: String(res.statusCode) }, secs);
      // Method, route pattern and status only: never headers, query strings or bodies (secrets live there).
      if (res.statusCode >= 500 || log.isLevelEnabled('debug'))
        log[res.statusCode >= 500 ? 'warn' : 'debug'](
          { method: req.method, route, status: res.statusCode, ms: Math.round(secs * 1000) },
          'request',
        );
    });
    next();
  });
  mountOpenApi(app);

  await app.get(SigningKeysService).init();
  await app.get(Notifier).start();
  await bootstrapAdmin(app.get(UsersService), cfg, log);
  app.enableShutdownHooks();
  await app.listen(cfg.port, cfg.host);
  const addr = app.getHttpServer().address() as { port: number };
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${addr.port}`;
  issuer.set(url);
  if (opts.workers !== false) {
    app.get(Sweeper).start();
    app.get(WebhooksService).start();
  }
  return {
    app,
    url,
    close: async () => {
      // Long-polls and SSE streams would hold the server open; cut them (clients reconnect elsewhere).
      const http = app.getHttpServer() as import('node:http').Server;
      const closing = app.close();
      http.closeAllConnections();
      await closing;
      if (ds.isInitialized) await ds.destroy();
    },
  };
}
