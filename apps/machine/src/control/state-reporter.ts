import type { AgentStateReport } from '@aegis/protocol';
import type { Logger } from 'pino';
import { Backoff, sleep } from './backoff.js';
import { ApiRejectedError, type ControlApi } from './control-api.js';

/**
 * Sends job state reports (metadata only) in order per job, retrying with backoff while the API is down, so a
 * build that ends during an API outage is still reported when the API returns.
 */
export class StateReporter {
  private readonly queues = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly api: ControlApi,
    private readonly log: Logger,
  ) {}

  report(jobId: string, report: AgentStateReport): Promise<void> {
    const prev = this.queues.get(jobId) ?? Promise.resolve();
    const next = prev.then(() => this.send(jobId, report));
    this.queues.set(jobId, next);
    void next.finally(() => {
      if (this.queues.get(jobId) === next) this.queues.delete(jobId);
    });
    return next;
  }

  /** Jobs with a report not yet delivered: still "ours" in heartbeats, so the API does not fail them as lost. */
  pendingJobIds(): string[] {
    return [...this.queues.keys()];
  }

  /** Resolves when every queued report has been sent (or given up). */
  async drain(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  private async send(jobId: string, report: AgentStateReport): Promise<void> {
    const backoff = new Backoff(250, 10_000);
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.api.reportState(jobId, report);
        return;
      } catch (err) {
        if (err instanceof ApiRejectedError) {
          this.log.warn({ jobId, state: report.state, code: err.code, status: err.status }, 'API refused state report');
          return;
        }
        // Give up after about an hour of outage; the API fails orphaned jobs by itself.
        if (attempt > 400) return;
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }
}
