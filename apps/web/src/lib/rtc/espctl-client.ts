import {
  EspctlMethods,
  EspctlNotifications,
  JsonRpcResponse,
  type BuildStatus,
  type EspctlMethod,
  type EspctlParams,
  type EspctlResult,
  type LogLine,
} from '@aegis/protocol';
import { drain } from './channel-io';

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface EspctlHandlers {
  onLog?: (line: LogLine) => void;
  onStatus?: (status: BuildStatus) => void;
}

/** JSON-RPC 2.0 over the `espctl` data channel; results are checked against the shared schemas. */
export class EspctlClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string }>();

  constructor(
    private readonly dc: RTCDataChannel,
    private readonly handlers: EspctlHandlers = {},
  ) {
    dc.addEventListener('message', (e) => this.onMessage(e.data));
    dc.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new RpcError(-1, 'The build machine closed the espctl channel.'));
      this.pending.clear();
    });
  }

  async call<M extends EspctlMethod>(method: M, params: EspctlParams<M>, timeoutMs = 60_000): Promise<EspctlResult<M>> {
    const id = this.nextId++;
    const spec = EspctlMethods[method];
    await drain(this.dc);
    const result = await new Promise<unknown>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(-2, `The build machine did not answer ${method} within ${timeoutMs / 1000} s.`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (v) => (clearTimeout(t), resolve(v)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      this.dc.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
    const parsed = spec.result.safeParse(result);
    if (!parsed.success) throw new RpcError(-3, `The build machine sent an unexpected answer to ${method}.`);
    return parsed.data as EspctlResult<M>;
  }

  sendBinary(chunk: Uint8Array) {
    this.dc.send(chunk as Uint8Array<ArrayBuffer>);
  }

  private onMessage(data: unknown) {
    if (typeof data !== 'string') return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('id' in msg && msg.id !== null && ('result' in msg || 'error' in msg)) {
      const r = JsonRpcResponse.safeParse(msg);
      const p = this.pending.get(Number(msg.id));
      if (!p || !r.success) return;
      this.pending.delete(Number(msg.id));
      if ('error' in r.data) p.reject(new RpcError(r.data.error.code, r.data.error.message, r.data.error.data));
      else p.resolve(r.data.result);
      return;
    }
    if (msg.method === 'log') {
      const l = EspctlNotifications.log.safeParse(msg.params);
      if (l.success) this.handlers.onLog?.(l.data);
    } else if (msg.method === 'status') {
      const s = EspctlNotifications.status.safeParse(msg.params);
      if (s.success) this.handlers.onStatus?.(s.data);
    }
  }
}
