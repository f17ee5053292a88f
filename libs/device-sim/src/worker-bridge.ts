import type { HostLink, SimDevice } from './device.js';
import type { PortBackend } from './web-serial-port.js';

/** The part of MessagePort / Worker / DedicatedWorkerGlobalScope the bridge uses. */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  start?(): void;
}

type ToDevice =
  | { t: 'open'; id: number; baud: number }
  | { t: 'close'; id: number }
  | { t: 'write'; id: number; bytes: Uint8Array }
  | { t: 'signals'; id: number; dtr?: boolean; rts?: boolean }
  | { t: 'baud'; id: number; baud: number };
type FromDevice =
  | { t: 'opened'; id: number }
  | { t: 'open-failed'; id: number; message: string }
  | { t: 'data'; id: number; bytes: Uint8Array };

/**
 * Serve a SimDevice over a MessagePort: run this where the device lives (the dashboard's virtual-board Web
 * Worker), and `remoteDevice()` on the other side gives the page a backend for SimSerialPort. Returns a
 * function that stops serving.
 */
export function serveDevice(device: SimDevice, port: MessagePortLike): () => void {
  const links = new Map<number, HostLink>();
  const send = (m: FromDevice) => port.postMessage(m);
  const onMessage = (event: MessageEvent) => {
    const m = event.data as ToDevice;
    if (!m || typeof m !== 'object') return;
    if (m.t === 'open') {
      try {
        links.set(
          m.id,
          device.attachHost((bytes) => send({ t: 'data', id: m.id, bytes }), m.baud),
        );
        send({ t: 'opened', id: m.id });
      } catch (e) {
        send({ t: 'open-failed', id: m.id, message: e instanceof Error ? e.message : String(e) });
      }
      return;
    }
    const link = links.get(m.id);
    if (!link) return;
    if (m.t === 'write' && m.bytes instanceof Uint8Array) link.write(m.bytes);
    else if (m.t === 'signals') link.setSignals({ dtr: m.dtr, rts: m.rts });
    else if (m.t === 'baud') link.setBaud(m.baud);
    else if (m.t === 'close') {
      link.close();
      links.delete(m.id);
    }
  };
  port.addEventListener('message', onMessage);
  port.start?.();
  return () => {
    port.removeEventListener('message', onMessage);
    for (const l of links.values()) l.close();
    links.clear();
  };
}

/** The page side of serveDevice(): pass the result to `new SimSerialPort(remoteDevice(port, …))`. */
export function remoteDevice(port: MessagePortLike, options: { usbJtagSerial?: boolean } = {}): PortBackend {
  let ids = 0;
  const sinks = new Map<number, (bytes: Uint8Array) => void>();
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  port.addEventListener('message', (event: MessageEvent) => {
    const m = event.data as FromDevice;
    if (!m || typeof m !== 'object') return;
    if (m.t === 'data') sinks.get(m.id)?.(m.bytes);
    else if (m.t === 'opened') pending.get(m.id)?.resolve();
    else if (m.t === 'open-failed') pending.get(m.id)?.reject(new Error(m.message));
    pending.delete(m.id);
  });
  port.start?.();
  const post = (m: ToDevice) => port.postMessage(m);
  return {
    usbJtagSerial: options.usbJtagSerial ?? false,
    async attachHost(sink, baud) {
      const id = ++ids;
      sinks.set(id, sink);
      try {
        await new Promise<void>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          post({ t: 'open', id, baud });
        });
      } catch (e) {
        sinks.delete(id);
        throw e;
      }
      return {
        write: (bytes) => post({ t: 'write', id, bytes: bytes.slice() }),
        setSignals: (s) => post({ t: 'signals', id, dtr: s.dtr, rts: s.rts }),
        setBaud: (b) => post({ t: 'baud', id, baud: b }),
        close: () => {
          sinks.delete(id);
          post({ t: 'close', id });
        },
      };
    },
  };
}
