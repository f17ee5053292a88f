import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, IsNull, MoreThan, Not } from 'typeorm';
import { JobRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { LOGGER, type Logger } from '../logger.js';
import { Notifier } from '../db/notifier.js';
import { CoalescedPoll } from '../db/coalesced-poll.js';
import { fairOrder } from './fairness.js';
import { fits, type MachineInfo } from './matcher.js';

export interface Waiter {
  machine: MachineInfo;
  max: number;
  resolve(jobs: JobRow[]): void;
}

const POLL_MS = 250;

/**
 * The one watcher per API instance behind `GET /agents/jobs`. Idle long-polls cost nothing but a slot in a
 * set: while any machine waits, a single query for offered pending jobs runs every 250 ms (and at once after
 * an offer on this instance), and each waiter gets the jobs that fit it, fairly ordered.
 */
@Injectable()
export class JobWatcher implements OnModuleDestroy {
  private readonly waiters = new Set<Waiter>();
  private readonly poll: CoalescedPoll;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) log: Logger,
    notifier: Notifier,
  ) {
    this.poll = new CoalescedPoll({
      intervalMs: POLL_MS,
      active: () => this.waiters.size > 0,
      tick: () => this.tick(),
      log,
      what: 'job',
    });
    notifier.on('jobs', () => this.kick());
  }

  get open(): number {
    return this.waiters.size;
  }

  /** Offered jobs a machine could take now, best first. */
  async available(machine: MachineInfo, max: number): Promise<JobRow[]> {
    return pick(await this.pending(), machine, max);
  }

  private pending(): Promise<JobRow[]> {
    return this.ds.getRepository(JobRow).find({
      where: { state: 'pending', offeredAt: Not(IsNull()), expiresAt: MoreThan(this.clock.now()) },
      order: { createdAt: 'ASC' },
      take: 500,
    });
  }

  /** Wait up to `ms` for jobs; resolves with [] on timeout or abort. */
  wait(machine: MachineInfo, max: number, ms: number, signal: AbortSignal): Promise<JobRow[]> {
    return new Promise((resolve) => {
      const w: Waiter = {
        machine,
        max,
        resolve: (jobs) => {
          clearTimeout(t);
          signal.removeEventListener('abort', onAbort);
          this.waiters.delete(w);
          resolve(jobs);
        },
      };
      const t = setTimeout(() => w.resolve([]), ms);
      const onAbort = () => w.resolve([]);
      signal.addEventListener('abort', onAbort);
      this.waiters.add(w);
      this.poll.schedule();
    });
  }

  /** Look now (after an offer was stored on this instance). */
  kick(): void {
    this.poll.kick();
  }

  private async tick(): Promise<void> {
    const jobs = await this.pending();
    if (!jobs.length) return;
    const ordered = fairOrder(jobs);
    for (const w of [...this.waiters]) {
      const mine = pick(ordered, w.machine, w.max, true);
      if (mine.length) w.resolve(mine);
    }
  }

  onModuleDestroy(): void {
    this.poll.stop();
    for (const w of [...this.waiters]) w.resolve([]);
  }
}

function pick(jobs: JobRow[], machine: MachineInfo, max: number, ordered = false): JobRow[] {
  const list = ordered ? jobs : fairOrder(jobs);
  return list.filter((j) => fits(machine, { params: j.params, pinnedMachineId: j.pinnedMachineId })).slice(0, max);
}
