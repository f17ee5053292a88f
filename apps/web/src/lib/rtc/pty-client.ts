import { PtyServerMessage, type PtyClientMessage } from '@aegis/protocol';

/** Terminal bytes both ways over the `pty` channel; JSON text frames for open/resize and the server's exit. */
export class PtyClient {
  private readonly onMessage: (e: MessageEvent) => void;

  constructor(
    private readonly dc: RTCDataChannel,
    handlers: { onData: (b: Uint8Array) => void; onExit: (code: number | null) => void; onError?: (m: string) => void },
  ) {
    this.onMessage = (e) => {
      if (typeof e.data !== 'string') {
        handlers.onData(new Uint8Array(e.data as ArrayBuffer));
        return;
      }
      try {
        const m = PtyServerMessage.safeParse(JSON.parse(e.data));
        if (!m.success) return;
        if (m.data.type === 'exit') handlers.onExit(m.data.code);
        else handlers.onError?.(m.data.message);
      } catch {}
    };
    dc.addEventListener('message', this.onMessage);
  }

  /** Stops listening (the terminal view went away). */
  dispose() {
    this.dc.removeEventListener('message', this.onMessage);
  }

  private control(m: PtyClientMessage) {
    if (this.dc.readyState === 'open') this.dc.send(JSON.stringify(m));
  }
  open(cols: number, rows: number, command: 'shell' | 'menuconfig' = 'shell') {
    this.control({ type: 'open', cols, rows, command });
  }
  resize(cols: number, rows: number) {
    this.control({ type: 'resize', cols, rows });
  }
  write(data: string | Uint8Array) {
    if (this.dc.readyState !== 'open') return;
    this.dc.send((typeof data === 'string' ? new TextEncoder().encode(data) : data) as Uint8Array<ArrayBuffer>);
  }
}
