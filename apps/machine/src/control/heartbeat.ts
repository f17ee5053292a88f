import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { HeartbeatResponse, MachineHeartbeat } from '@aegis/protocol';
import type { Logger } from 'pino';
import { Backoff, sleep } from './backoff.js';
import type { ControlApi } from './control-api.js';

/** Event-loop stalls longer than this are logged: nothing a job does may hold the loop that long. */
export const LOOP_STALL_WARN_MS = 1000;

/**
 * Sends a heartbeat every `heartbeat_interval_secs` the API asks for; while the API is down it retries with
 * backoff and jitter. Each answer's `cancel_job_ids` goes to `onCancel`.
 *
 * Independent of any job's traffic: the beat is a timer on the event loop, and job output is handled in bounded
 * slices (spawn-tree yields, log frames are read by seq), so the loop stays free. Beats keep their cadence from one
 * start to the next however long the API takes to answer, and a stalled loop is logged so it cannot go unnoticed.
 */
export class Heartbeat {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private wake?: () => void;
  private kicked = false;
  private lastStart = 0;
  private loopDelay?: IntervalHistogram;
  intervalMs = 10_000;

  constructor(
    private readonly api: ControlApi,
    private readonly body: () => Promise<MachineHeartbeat>,
    private readonly onResponse: (r: HeartbeatResponse) => void,
    private readonly log: Logger,
  ) {}

  start(initialIntervalSecs?: number): void {
    if (initialIntervalSecs) this.intervalMs = initialIntervalSecs * 1000;
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.loopDelay.enable();
    this.lastStart = performance.now();
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
    this.loopDelay?.disable();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(500, 15_000);
    while (!this.abort.signal.aborted) {
      if (!this.kicked) {
        const woken = new AbortController();
        this.wake = () => woken.abort();
        const onStop = () => woken.abort();
        this.abort.signal.addEventListener('abort', onStop, { once: true });
        // From the previous beat's start: a slow answer must not stretch the gap past the interval.
        await sleep(Math.max(0, this.lastStart + this.intervalMs - performance.now()), woken.signal);
        this.abort.signal.removeEventListener('abort', onStop);
        this.wake = undefined;
      }
      this.kicked = false;
      if (this.abort.signal.aborted) return;
      this.lastStart = performance.now();
      this.reportLoopStalls();
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

  private reportLoopStalls(): void {
    const h = this.loopDelay;
    if (!h) return;
    const maxMs = h.max / 1e6;
    h.reset();
    if (maxMs > LOOP_STALL_WARN_MS)
      this.log.warn({ maxMs: Math.round(maxMs) }, 'the event loop was blocked; heartbeats and channels were late');
  }
}
