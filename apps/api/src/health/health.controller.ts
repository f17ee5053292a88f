import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { JobRow } from '../db/entities.js';
import { driverOf } from '../db/data-source.js';
import { Auth } from '../auth/guards.js';
import { CLOCK, iso, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';
import { AppError } from '../errors.js';
import { Metrics } from './metrics.js';
import { Doc } from '../http/doc.js';

@Controller()
@Auth('public')
export class HealthController {
  constructor(
    private readonly ds: DataSource,
    private readonly metrics: Metrics,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
  ) {}

  @Get('health')
  @Doc({ res: 'HealthResponse' })
  async health(@Res({ passthrough: true }) res: Response) {
    let db: 'ok' | 'down' = 'ok';
    try {
      await this.ds.query('SELECT 1');
    } catch {
      db = 'down';
    }
    if (db === 'down') res.status(503);
    return {
      status: db === 'ok' ? 'ok' : 'degraded',
      db,
      driver: driverOf(this.ds),
      version: '0.1.0',
      time: iso(this.clock.now()),
    };
  }

  @Get('metrics')
  async prometheus(@Res() res: Response) {
    const rows = await this.ds
      .getRepository(JobRow)
      .createQueryBuilder('j')
      .select('j.state', 'state')
      .addSelect('COUNT(*)', 'n')
      .groupBy('j.state')
      .getRawMany<{ state: string; n: string | number }>();
    this.metrics.jobsByState.reset();
    for (const r of rows) this.metrics.jobsByState.set({ state: r.state }, Number(r.n));
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.registry.metrics());
  }

  /** CPU time of this process (benchmark only; off unless AEGIS_DEBUG_ENDPOINTS=1). */
  @Get('debug/cpu')
  cpu() {
    if (!this.cfg.debugEndpoints) throw new AppError(404, 'not_found', 'No such route.');
    const u = process.cpuUsage();
    return { user_us: u.user, system_us: u.system, uptime_s: process.uptime() };
  }
}
