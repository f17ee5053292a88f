import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { LOGGER, type Logger } from '../logger.js';
import { MachinesService } from '../machines/machines.service.js';
import { EventStore } from '../signaling/event-store.js';
import { JobsService } from './jobs.service.js';
import { SigningKeysService } from '../grants/signing-keys.service.js';
import { CONFIG, type Config } from '../config.js';

/**
 * Periodic housekeeping, safe on several instances (every change is a conditional UPDATE):
 * expire unclaimed jobs, cancel queued jobs whose client left, fail jobs of machines that went offline (agent_lost), drop old signaling rows.
 */
@Injectable()
export class Sweeper implements OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private lastHousekeeping = -Infinity;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly jobs: JobsService,
    private readonly machines: MachinesService,
    private readonly events: EventStore,
    private readonly keys: SigningKeysService,
  ) {}

  start(everyMs = 1000): void {
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.sweep()
          .catch((e: Error) => this.log.warn({ err: e.message }, 'sweep failed'))
          .finally(() => this.timer && loop());
      }, everyMs);
    };
    loop();
  }

  async sweep(): Promise<void> {
    await this.jobs.expireOverdue();
    await this.jobs.cancelGone(this.cfg.clientGoneGraceSecs * 1000);
    await this.failLost();
    // Once a minute (by the injected clock): drop old signaling rows, rotate the signing key when due.
    if (this.clock.now() - this.lastHousekeeping >= 60_000) {
      this.lastHousekeeping = this.clock.now();
      await this.events.deleteExpired();
      await this.keys.rotateIfDue();
    }
  }

  /** Jobs assigned to or running on a machine that stopped heartbeating (or was removed). */
  async failLost(): Promise<number> {
    const cutoff = this.clock.now() - this.machines.offlineAfterSecs * 1000;
    const lost = await this.ds
      .getRepository(JobRow)
      .createQueryBuilder('j')
      .leftJoin('machines', 'm', 'm.id = j.machine_id')
      .select(['j.id AS id', 'j.state AS state'])
      .where(`j.state IN ('assigned','running')`)
      .andWhere('(m.id IS NULL OR m.last_seen_at IS NULL OR m.last_seen_at < :cutoff)', { cutoff })
      .limit(200)
      .getRawMany<{ id: string; state: 'assigned' | 'running' }>();
    let n = 0;
    for (const j of lost)
      if (await this.jobs.failLost(j, 'The build machine stopped responding (no heartbeat); request a new build.')) n++;
    return n;
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
