import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CLOCK, type Clock } from './clock.js';
import { CONFIG, Issuer, type Config } from './config.js';
import { LOGGER, type Logger } from './logger.js';
import { AuthService } from './auth/auth.service.js';
import { AuthGuard } from './auth/guards.js';
import { AuthThrottle } from './auth/auth-throttle.js';
import { UsersService } from './users/users.service.js';
import { UsersController } from './users/users.controller.js';
import { MachinesService } from './machines/machines.service.js';
import { MachinesController } from './machines/machines.controller.js';
import { SigningKeysService } from './grants/signing-keys.service.js';
import { GrantsService } from './grants/grants.service.js';
import { GrantsController } from './grants/grants.controller.js';
import { JobWatcher } from './scheduling/job-watcher.js';
import { JobQueue } from './scheduling/job-queue.js';
import { AgentsService } from './agents/agents.service.js';
import { AgentsController } from './agents/agents.controller.js';
import { JobsService } from './jobs/jobs.service.js';
import { JobsController } from './jobs/jobs.controller.js';
import { Sweeper } from './jobs/sweeper.js';
import { EventStore } from './signaling/event-store.js';
import { EventBus } from './signaling/event-bus.js';
import { SignalingService } from './signaling/signaling.service.js';
import { SignalingController } from './signaling/signaling.controller.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { HealthController } from './health/health.controller.js';
import { Metrics } from './health/metrics.js';
import { Notifier } from './db/notifier.js';
import { McpModule } from './mcp/mcp.module.js';

export interface AppDeps {
  cfg: Config;
  ds: DataSource;
  log: Logger;
  clock: Clock;
  issuer: Issuer;
  /** Extra feature modules mounted into the app (e.g. the espctl engineer's McpModule for /mcp and /sse). */
  extraModules?: ModuleMetadata['imports'];
}

/** Shared infrastructure, global so feature modules (incl. McpModule) can inject it. */
@Module({})
export class CoreModule {
  static forRoot(d: AppDeps): DynamicModule {
    const providers = [
      { provide: CONFIG, useValue: d.cfg },
      { provide: DataSource, useValue: d.ds },
      { provide: LOGGER, useValue: d.log },
      { provide: CLOCK, useValue: d.clock },
      { provide: Issuer, useValue: d.issuer },
      Metrics,
      Notifier,
      AuthService,
      AuthThrottle,
      EventStore,
      JobsService,
      MachinesService,
    ];
    return {
      module: CoreModule,
      global: true,
      providers,
      exports: providers.map((p) => ('provide' in p ? p.provide : p)),
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(d: AppDeps): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(d), McpModule, ...(d.extraModules ?? [])],
      controllers: [
        HealthController,
        UsersController,
        MachinesController,
        GrantsController,
        AgentsController,
        JobsController,
        SignalingController,
        WebhooksController,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        UsersService,
        SigningKeysService,
        GrantsService,
        JobQueue,
        JobWatcher,
        AgentsService,
        Sweeper,
        EventBus,
        SignalingService,
        WebhooksService,
      ],
      exports: [
        UsersService,
        SigningKeysService,
        GrantsService,
        JobQueue,
        JobWatcher,
        Sweeper,
        WebhooksService,
        EventBus,
      ],
    };
  }
}
