import {
  EspctlMethods,
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
  MAX_FRAME_BYTES,
  RpcErrorCode,
  describeZodError,
  type EspctlMethod,
  type EspctlParams,
  type EspctlResult,
  type JsonRpcError,
} from '@aegis/protocol';
import type { z } from 'zod';

// Browser-safe (web-platform globals only, no werift): the dashboard imports it through `@aegis/peer/browser`.

const utf8 = new TextEncoder();

/** Whether a frame's UTF-8 size is over the limit; a UTF-16 unit is at most 3 bytes, so short frames skip encoding. */
const tooLarge = (text: string): boolean =>
  text.length * 3 > MAX_FRAME_BYTES && utf8.encode(text).length > MAX_FRAME_BYTES;

/** A JSON-RPC error as a value: `code` from RpcErrorCode and a sentence a person can act on. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
  toJSON(): JsonRpcError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export type IncomingFrame =
  | { kind: 'request'; msg: z.infer<typeof JsonRpcRequest> }
  | { kind: 'notification'; msg: z.infer<typeof JsonRpcNotification> }
  | { kind: 'response'; msg: JsonRpcResponse }
  | { kind: 'invalid'; id: string | number | null; error: RpcError };

/** Classifies one text frame. Never throws. */
export function parseFrame(text: string): IncomingFrame {
  if (tooLarge(text))
    return {
      kind: 'invalid',
      id: null,
      error: new RpcError(RpcErrorCode.FrameTooLarge, `Frame is larger than ${MAX_FRAME_BYTES} bytes.`),
    };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', id: null, error: new RpcError(RpcErrorCode.ParseError, 'Frame is not valid JSON.') };
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if ('result' in o || 'error' in o) {
      const r = JsonRpcResponse.safeParse(o);
      if (r.success) return { kind: 'response', msg: r.data };
    } else if ('id' in o) {
      const r = JsonRpcRequest.safeParse(o);
      if (r.success) return { kind: 'request', msg: r.data };
      const id = typeof o.id === 'string' || typeof o.id === 'number' ? o.id : null;
      return {
        kind: 'invalid',
        id,
        error: new RpcError(RpcErrorCode.InvalidRequest, `Invalid JSON-RPC request: ${describeZodError(r.error)}`),
      };
    } else {
      const r = JsonRpcNotification.safeParse(o);
      if (r.success) return { kind: 'notification', msg: r.data };
    }
  }
  return {
    kind: 'invalid',
    id: null,
    error: new RpcError(RpcErrorCode.InvalidRequest, 'Frame is not a JSON-RPC 2.0 request, response or notification.'),
  };
}

export const encodeResult = (id: string | number | null, result: unknown): string =>
  JSON.stringify({ jsonrpc: '2.0', id, result });
export const encodeError = (id: string | number | null, error: RpcError | JsonRpcError): string =>
  JSON.stringify({ jsonrpc: '2.0', id, error: error instanceof RpcError ? error.toJSON() : error });
export const encodeNotification = (method: string, params: unknown): string =>
  JSON.stringify({ jsonrpc: '2.0', method, params });
export const encodeRequest = (id: string | number, method: string, params: unknown): string =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params });

/** Handlers for the server side of `espctl`; params arrive validated by the method's schema. */
export type EspctlHandlers = {
  [M in EspctlMethod]?: (params: z.output<(typeof EspctlMethods)[M]['params']>) => Promise<EspctlResult<M>>;
};

/**
 * Answers one request frame: validates params with the method's schema, runs the handler, and turns any thrown
 * error into a JSON-RPC error (RpcError keeps its code; anything else becomes Internal with a generic message).
 */
export async function dispatchRequest(
  handlers: EspctlHandlers,
  msg: z.infer<typeof JsonRpcRequest>,
  onInternalError?: (err: unknown) => void,
): Promise<string> {
  const method = msg.method as EspctlMethod;
  const spec = Object.prototype.hasOwnProperty.call(EspctlMethods, method) ? EspctlMethods[method] : undefined;
  const handler = spec ? (handlers[method] as ((p: unknown) => Promise<unknown>) | undefined) : undefined;
  if (!spec || !handler)
    return encodeError(msg.id, new RpcError(RpcErrorCode.MethodNotFound, `Unknown method "${msg.method}".`));
  const parsed = spec.params.safeParse(msg.params ?? {});
  if (!parsed.success)
    return encodeError(
      msg.id,
      new RpcError(RpcErrorCode.InvalidParams, `Invalid params for ${method}: ${describeZodError(parsed.error)}`),
    );
  try {
    return encodeResult(msg.id, await handler(parsed.data));
  } catch (err) {
    if (err instanceof RpcError) return encodeError(msg.id, err);
    onInternalError?.(err);
    return encodeError(msg.id, new RpcError(RpcErrorCode.Internal, `${method} failed on the build machine.`));
  }
}

interface Pending {
  method: EspctlMethod;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

/** Client side of `espctl`: typed calls, results validated against the method's result schema. */
export class JsonRpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly notificationListeners = new Set<(method: string, params: unknown) => void>();

  constructor(private readonly sendText: (text: string) => Promise<void>) {}

  call<M extends EspctlMethod>(
    method: M,
    params: EspctlParams<M>,
    opts: { timeoutMs?: number } = {},
  ): Promise<EspctlResult<M>> {
    const id = this.nextId++;
    return new Promise<EspctlResult<M>>((resolve, reject) => {
      const p: Pending = { method, resolve: resolve as (v: unknown) => void, reject };
      if (opts.timeoutMs)
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RpcError(RpcErrorCode.Internal, `${method} got no answer within ${opts.timeoutMs} ms.`));
        }, opts.timeoutMs);
      this.pending.set(id, p);
      this.sendText(encodeRequest(id, method, params)).catch((err: Error) => {
        this.settle(id);
        reject(err);
      });
    });
  }

  onNotification(cb: (method: string, params: unknown) => void): () => void {
    this.notificationListeners.add(cb);
    return () => this.notificationListeners.delete(cb);
  }

  /** Feed every text frame received on the channel. */
  handleText(text: string): void {
    const f = parseFrame(text);
    if (f.kind === 'notification') {
      for (const cb of this.notificationListeners) cb(f.msg.method, f.msg.params);
      return;
    }
    if (f.kind !== 'response' || typeof f.msg.id !== 'number') {
      // An error with id null answers a frame the server could not attribute (e.g. a stray binary chunk).
      if (f.kind === 'response' && 'error' in f.msg)
        for (const cb of this.notificationListeners) cb('rpc.error', f.msg.error);
      return;
    }
    const p = this.settle(f.msg.id);
    if (!p) return;
    if ('error' in f.msg) {
      p.reject(new RpcError(f.msg.error.code, f.msg.error.message, f.msg.error.data));
      return;
    }
    const r = EspctlMethods[p.method].result.safeParse(f.msg.result);
    if (r.success) p.resolve(r.data);
    else
      p.reject(
        new RpcError(
          RpcErrorCode.Internal,
          `The machine's answer to ${p.method} is malformed: ${describeZodError(r.error)}`,
        ),
      );
  }

  /** Rejects every call still waiting (the channel closed). */
  failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(err);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    return p;
  }
}
