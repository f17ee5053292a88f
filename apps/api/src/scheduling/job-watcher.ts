import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { JobRow } from '../db/entities.js';
import { LOGGER, type Logger } from '../logger.js';
import { Notifier } from '../db/notifier.js';
import { CoalescedPoll } from '../db/coalesced-poll.js';
import { fits, type MachineInfo } from './matcher.js';
import { JobQueue } from './job-queue.js';

export interface Waiter {
  /** With the free slots the machine reported when it polled. */
  machine: MachineInfo;
  resolve(jobs: JobRow[]): void;
}

/** At most this many jobs in one answer (reattachments included). */
const MAX_OFFERS = 16;
/** A job just offered to one machine is not offered to another by this instance for this long (it is being claimed). */
const OFFER_HOLD_MS = 1000;

const POLL_MS = 250;

/**
 * The one watcher per API instance behind `GET /agents/jobs`. Idle long-polls cost nothing but a slot in a
 * set: while any machine waits, a single look at the queue runs every 250 ms (and at once after an offer on
 * any instance), and the waiters share the jobs that fit them in queue order, each job to one waiter per look.
 */
@Injectable()
export class JobWatcher implements OnModuleDestroy {
  private readonly waiters = new Set<Waiter>();
  /** Job id → the machine this instance last offered it to, and when: fewer machines race for one job. */
  private readonly offered = new Map<string, { machineId: string; at: number }>();
  private readonly poll: CoalescedPoll;

  constructor(
    private readonly queue: JobQueue,
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

  /** Queued jobs a machine could take now, best first (users at their running limit skipped). */
  async available(machine: MachineInfo): Promise<JobRow[]> {
    return this.hand(pick(this.free(await this.queue.dispatchable(), machine.id), machine), machine.id);
  }

  /** Jobs not just offered to another machine (a claim is likely under way). */
  private free(jobs: JobRow[], machineId: string): JobRow[] {
    const now = performance.now();
    for (const [id, o] of this.offered) if (now - o.at > OFFER_HOLD_MS) this.offered.delete(id);
    return jobs.filter((j) => {
      const o = this.offered.get(j.id);
      return !o || o.machineId === machineId;
    });
  }

  private hand(jobs: JobRow[], machineId: string): JobRow[] {
    const at = performance.now();
    for (const j of jobs) this.offered.set(j.id, { machineId, at });
    return jobs;
  }

  /** Wait up to `ms` for jobs; resolves with [] on timeout or abort. */
  wait(machine: MachineInfo, ms: number, signal: AbortSignal): Promise<JobRow[]> {
    return new Promise((resolve) => {
      const w: Waiter = {
        machine,
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
    let left = await this.queue.dispatchable();
    if (!left.length) return;
    // Machines with the most free slots first; a job offered here goes to no other waiter in this look, so two
    // machines do not race for the head of the queue while the next job waits.
    const waiters = [...this.waiters].sort(
      (a, b) => (b.machine.capacity?.free_slots ?? 0) - (a.machine.capacity?.free_slots ?? 0),
    );
    for (const w of waiters) {
      const mine = this.hand(pick(this.free(left, w.machine.id), w.machine), w.machine.id);
      if (!mine.length) continue;
      const taken = new Set(mine);
      left = left.filter((j) => !taken.has(j));
      w.resolve(mine);
    }
  }

  onModuleDestroy(): void {
    this.poll.stop();
    for (const w of [...this.waiters]) w.resolve([]);
  }
}

/** From jobs in queue order: the builds that fit the machine, one per free slot, and reattachments pinned to it. */
function pick(ordered: JobRow[], machine: MachineInfo): JobRow[] {
  const out: JobRow[] = [];
  let builds = 0;
  const free = machine.capacity?.free_slots ?? 0;
  for (const j of ordered) {
    if (out.length >= MAX_OFFERS) break;
    const pinned = j.pinnedMachineId !== null;
    if (!pinned && builds >= free) continue;
    if (!fits(machine, { params: j.params, pinnedMachineId: j.pinnedMachineId })) continue;
    out.push(j);
    if (!pinned) builds++;
  }
  return out;
}
