import { JsonRpcClient, RpcError } from '@aegis/peer/browser';
import {
  EspctlNotifications,
  type BuildStatus,
  type EspctlMethod,
  type EspctlParams,
  type EspctlResult,
  type LogLine,
} from '@aegis/protocol';
import { drain } from './channel-io';

export { RpcError };

export interface EspctlHandlers {
  /** Each `log` frame's lines (a batch, in seq order). */
  onLog?: (lines: LogLine[]) => void;
  onStatus?: (status: BuildStatus) => void;
}

/**
 * libs/peer's JSON-RPC client (results checked against the shared schemas) on the browser's `espctl`
 * RTCDataChannel: text frames in, requests out once the send buffer drains, every call failed when it closes.
 */
export class EspctlClient {
  private readonly rpc: JsonRpcClient;

  constructor(
    private readonly dc: RTCDataChannel,
    handlers: EspctlHandlers = {},
  ) {
    this.rpc = new JsonRpcClient(async (text) => {
      await drain(dc);
      dc.send(text);
    });
    dc.addEventListener('message', (e) => {
      if (typeof e.data === 'string') this.rpc.handleText(e.data);
    });
    dc.addEventListener('close', () =>
      this.rpc.failAll(new RpcError(-1, 'The build machine closed the espctl channel.')),
    );
    this.rpc.onNotification((method, params) => {
      if (method === 'log') {
        const l = EspctlNotifications.log.safeParse(params);
        if (l.success) handlers.onLog?.(l.data.lines);
      } else if (method === 'status') {
        const s = EspctlNotifications.status.safeParse(params);
        if (s.success) handlers.onStatus?.(s.data);
      }
    });
  }

  call<M extends EspctlMethod>(method: M, params: EspctlParams<M>, timeoutMs = 60_000): Promise<EspctlResult<M>> {
    return this.rpc.call(method, params, { timeoutMs });
  }

  sendBinary(chunk: Uint8Array) {
    this.dc.send(chunk as Uint8Array<ArrayBuffer>);
  }
}
