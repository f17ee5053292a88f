import type { Logger } from '../logger.js';

/**
 * The poll loop behind the per-instance watchers (machine long-polls, SSE streams): while anyone waits it runs
 * `tick` every `intervalMs`, and `kick()` runs it now (after a local insert or a NOTIFY). Ticks never overlap; a
 * kick during a tick runs one more right after, so nothing inserted meanwhile waits a whole interval.
 */
export class CoalescedPoll {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;

  constructor(
    private readonly opts: {
      intervalMs: number;
      active: () => boolean;
      tick: () => Promise<void>;
      log: Logger;
      what: string;
    },
  ) {}

  /** Arm the interval timer if someone waits and it is not armed yet. */
  schedule(): void {
    if (this.timer || !this.opts.active()) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.opts.intervalMs);
  }

  kick(): void {
    if (!this.opts.active()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.opts
      .tick()
      .catch((e: Error) => this.opts.log.warn({ err: e.message }, `${this.opts.what} poll failed`))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        } else this.schedule();
      });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
