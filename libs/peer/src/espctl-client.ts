import {
  BuildStatus,
  LogBatch,
  MAX_FRAME_BYTES,
  RpcErrorCode,
  describeZodError,
  type LogLine,
  type EspctlMethod,
  type EspctlParams,
  type EspctlResult,
} from '@aegis/protocol';
import type { z } from 'zod';
import { sha256Hex } from './bytes.js';
import type { ChannelLike } from './channel.js';
import { ChannelClosedError, LimitedSender, type Limits } from './limited-sender.js';
import { JsonRpcClient } from './json-rpc.js';

export interface EspctlClientEvents {
  /** Every line of every `log` frame, in order. */
  log(line: LogLine): void;
  /** Each `log` frame's lines at once (what a view that re-renders per update wants). */
  logs(lines: LogLine[]): void;
  status(status: BuildStatus): void;
  /** An error the machine could not attribute to a call (e.g. a stray binary frame), or a malformed notification. */
  error(err: { code: number; message: string }): void;
}

/** Typed JSON-RPC client over the `espctl` channel. Browser-safe: the dashboard uses it too. */
export class EspctlClient {
  readonly rpc: JsonRpcClient;
  readonly sender: LimitedSender;
  private readonly listeners: { [K in keyof EspctlClientEvents]: Set<EspctlClientEvents[K]> } = {
    log: new Set(),
    logs: new Set(),
    status: new Set(),
    error: new Set(),
  };
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    readonly channel: ChannelLike,
    limits: Limits = {},
  ) {
    this.sender = new LimitedSender(channel, limits);
    this.rpc = new JsonRpcClient((t) => this.sender.send(t));
    this.unsubscribe.push(
      channel.onMessage((d) => {
        if (typeof d === 'string') this.rpc.handleText(d);
      }),
      channel.onClose(() => this.rpc.failAll(new ChannelClosedError(channel.label))),
    );
    this.rpc.onNotification((method, params) => {
      if (method === 'log') {
        const r = LogBatch.safeParse(params);
        if (!r.success) return this.malformed('log', r.error);
        for (const cb of this.listeners.logs) cb(r.data.lines);
        for (const line of r.data.lines) for (const cb of this.listeners.log) cb(line);
      } else if (method === 'status') {
        const r = BuildStatus.safeParse(params);
        if (!r.success) return this.malformed('status', r.error);
        for (const cb of this.listeners.status) cb(r.data);
      } else if (method === 'rpc.error') {
        for (const cb of this.listeners.error) cb(params as { code: number; message: string });
      }
    });
  }

  /** A notification that does not match its schema is reported as an error naming the field, not dropped. */
  private malformed(method: string, error: z.ZodError): void {
    const err = {
      code: RpcErrorCode.InvalidParams,
      message: `The machine sent a malformed ${method} notification: ${describeZodError(error)}`,
    };
    for (const cb of this.listeners.error) cb(err);
  }

  call<M extends EspctlMethod>(
    method: M,
    params: EspctlParams<M>,
    opts?: { timeoutMs?: number },
  ): Promise<EspctlResult<M>> {
    return this.rpc.call(method, params, opts);
  }

  on<K extends keyof EspctlClientEvents>(event: K, cb: EspctlClientEvents[K]): () => void {
    this.listeners[event].add(cb);
    return () => this.listeners[event].delete(cb);
  }

  /**
   * Uploads a tar of the project: begin (size + sha256), binary chunks, end. Returns what the machine unpacked.
   * `onProgress` hears the bytes handed to the channel so far.
   */
  async uploadProject(
    tar: Uint8Array,
    opts: { onProgress?: (sent: number, total: number) => void } = {},
  ): Promise<EspctlResult<'upload.end'>> {
    const size = tar.byteLength;
    const sha256 = await sha256Hex(tar);
    const { max_chunk } = await this.call('upload.begin', { size, sha256, format: 'tar' });
    const chunk = Math.max(1, Math.min(max_chunk, MAX_FRAME_BYTES));
    for (let off = 0; off < size; off += chunk) {
      const end = Math.min(off + chunk, size);
      await this.sender.send(tar.subarray(off, end));
      opts.onProgress?.(end, size);
    }
    return this.call('upload.end', {});
  }

  /** Stops listening to the channel (the channel itself stays open); calls still waiting are not answered. */
  dispose(): void {
    for (const off of this.unsubscribe) off();
  }

  /**
   * Resolves with the final status once the build ends. Listens for `status` notifications and asks
   * `build.status` too, so a build that ended before the call is seen.
   */
  waitForBuild(): Promise<BuildStatus> {
    return new Promise((resolve, reject) => {
      const terminal = (s: BuildStatus) => ['succeeded', 'failed', 'canceled', 'expired'].includes(s.state);
      const off = this.on('status', (s) => {
        if (terminal(s)) {
          off();
          resolve(s);
        }
      });
      this.call('build.status', {}).then(
        (s) => {
          if (terminal(s)) {
            off();
            resolve(s);
          }
        },
        (err: Error) => {
          off();
          reject(err);
        },
      );
    });
  }
}
