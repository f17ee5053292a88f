import type { HeartbeatResponse, MachineHeartbeat } from '@aegis/protocol';
import type { Logger } from 'pino';
import { Backoff, sleep } from './backoff.js';
import type { ControlApi } from './control-api.js';

/**
 * Sends a heartbeat every `heartbeat_interval_secs` the API asks for; while the API is down it retries with
 * backoff and jitter. Each answer's `cancel_job_ids` goes to `onCancel`.
 */
export class Heartbeat {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private wake?: () => void;
  private kicked = false;
  intervalMs = 10_000;

  constructor(
    private readonly api: ControlApi,
    private readonly body: () => Promise<MachineHeartbeat>,
    private readonly onResponse: (r: HeartbeatResponse) => void,
    private readonly log: Logger,
  ) {}

  start(initialIntervalSecs?: number): void {
    if (initialIntervalSecs) this.intervalMs = initialIntervalSecs * 1000;
    this.loop = this.run();
  }

  /** Beat now (coalesced): capacity changed, so the scheduler should know before the next interval. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(500, 15_000);
    while (!this.abort.signal.aborted) {
      if (!this.kicked) {
        const woken = new AbortController();
        this.wake = () => woken.abort();
        const onStop = () => woken.abort();
        this.abort.signal.addEventListener('abort', onStop, { once: true });
        await sleep(this.intervalMs, woken.signal);
        this.abort.signal.removeEventListener('abort', onStop);
        this.wake = undefined;
      }
      this.kicked = false;
      if (this.abort.signal.aborted) return;
      try {
        const r = await this.api.heartbeat(await this.body());
        backoff.reset();
        this.intervalMs = Math.max(1000, r.heartbeat_interval_secs * 1000);
        this.onResponse(r);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'heartbeat failed; retrying');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }
}
