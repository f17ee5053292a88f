import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { SignalingEvent } from '@aegis/protocol';
import { EventStore, toWire } from './event-store.js';
import { LOGGER, type Logger } from '../logger.js';
import { Notifier } from '../db/notifier.js';
import { CoalescedPoll } from '../db/coalesced-poll.js';

export interface Subscriber {
  jobId: string;
  cursor: number;
  push(e: SignalingEvent): void;
}

const POLL_MS = 200;

/**
 * One watcher per instance for all open SSE streams: while any stream is open it reads new client-bound
 * rows of the watched jobs every 200 ms (and at once after a local insert), then fans them out.
 */
@Injectable()
export class EventBus implements OnModuleDestroy {
  private readonly subs = new Set<Subscriber>();
  private readonly poll: CoalescedPoll;
  private readonly off: () => void;

  constructor(
    private readonly store: EventStore,
    @Inject(LOGGER) log: Logger,
    notifier: Notifier,
  ) {
    this.poll = new CoalescedPoll({
      intervalMs: POLL_MS,
      active: () => this.subs.size > 0,
      tick: () => this.tick(),
      log,
      what: 'signaling',
    });
    this.off = store.onLocalInsert(() => this.kick());
    notifier.on('signal', () => this.kick());
  }

  get size(): number {
    return this.subs.size;
  }

  subscribe(s: Subscriber): () => void {
    this.subs.add(s);
    this.poll.schedule();
    this.poll.kick();
    return () => {
      this.subs.delete(s);
    };
  }

  kick(): void {
    this.poll.kick();
  }

  private async tick(): Promise<void> {
    const subs = [...this.subs];
    if (!subs.length) return;
    const ids = [...new Set(subs.map((s) => s.jobId))];
    const after = Math.min(...subs.map((s) => s.cursor));
    const rows = await this.store.clientEvents(ids, after);
    for (const row of rows) {
      for (const s of subs) {
        if (s.jobId === row.jobId && row.seq > s.cursor) {
          s.cursor = row.seq;
          s.push(toWire(row));
        }
      }
    }
  }

  onModuleDestroy(): void {
    this.off();
    this.poll.stop();
    this.subs.clear();
  }
}
