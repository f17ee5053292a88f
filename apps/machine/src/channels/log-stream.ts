import { LOG_FRAME_BYTES, type BuildStatus } from '@aegis/protocol';
import { encodeNotification } from '@aegis/peer';
import type { LogBuffer } from '../jobs/log-buffer.js';

/** How long the first line of a frame waits for more to share it. */
export const LOG_BATCH_MS = 50;

export interface LogStreamOptions {
  log: LogBuffer;
  /** Hands one text frame to the channel's limiter; resolves when the channel took it, rejects once it closed. */
  send(text: string): Promise<void>;
  frameBytes?: number;
  batchMs?: number;
  /** For tests: how to wait `ms`. */
  sleep?: (ms: number) => Promise<void>;
}

export interface LogStream {
  /** Queue a status notification; it leaves after every line written before it (up to its `next_seq`). */
  status(s: BuildStatus): void;
  stop(): void;
  /** Resolves when the pump has stopped. */
  readonly done: Promise<void>;
}

/**
 * Streams a job's log to one channel: reads the buffer by seq and sends `log` notifications of up to
 * `frameBytes`, one frame at a time (the next is built only when the channel took the last). The buffer sees
 * how far this channel has got, which is what holds the build's output back when the channel is slow.
 */
export function streamLog(o: LogStreamOptions): LogStream {
  const frameBytes = o.frameBytes ?? LOG_FRAME_BYTES;
  const batchMs = o.batchMs ?? LOG_BATCH_MS;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const cursor = o.log.attach();
  const statuses: BuildStatus[] = [];
  let stopped = false;

  const run = async (): Promise<void> => {
    try {
      while (!stopped) {
        while (statuses.length > 0 && statuses[0].next_seq <= cursor.seq) {
          await o.send(encodeNotification('status', statuses.shift()));
          if (stopped) return;
        }
        if (o.log.nextSeq <= cursor.seq) {
          await cursor.waitForLines();
          continue;
        }
        // Time batching: a lone line waits a moment for company; a full frame (or a waiting status) goes now.
        if (o.log.bytesFrom(cursor.seq) < frameBytes && statuses.length === 0) {
          await sleep(batchMs);
          if (stopped) return;
        }
        const { json, next } = o.log.slice(cursor.seq, frameBytes);
        await o.send(`{"jsonrpc":"2.0","method":"log","params":{"lines":[${json.join(',')}]}}`);
        cursor.advance(next);
      }
    } catch {
      // The channel closed: this client reattaches and replays by seq.
    } finally {
      cursor.close();
    }
  };
  const done = run();

  return {
    status(s) {
      statuses.push(s);
      cursor.wake();
    },
    stop() {
      stopped = true;
      cursor.close();
    },
    done,
  };
}
