import { isPortBusyError, portBusy } from './errors.js';
import { HARD_RESET_SEQUENCE } from './reset-strategy.js';
import type { SerialPortLike } from './serial-port.js';

export interface MonitorOptions {
  baud?: number;
  onData: (bytes: Uint8Array) => void;
  /** Aborting closes the port. */
  signal?: AbortSignal;
  /** Reset the chip into its app after opening (EN pulse, IO0 high), to catch the whole boot log. */
  reset?: boolean;
}

export interface MonitorSession {
  write(bytes: Uint8Array): Promise<void>;
  /** Stop reading and close the port. */
  stop(): Promise<void>;
  /** Settles once the port is closed. */
  closed: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Open the port (after flashing) and stream what the app prints. A port held elsewhere → `port_busy`. */
export async function monitor(port: SerialPortLike, options: MonitorOptions): Promise<MonitorSession> {
  if (port.readable || port.writable) throw portBusy();
  try {
    await port.open({ baudRate: options.baud ?? 115200 });
  } catch (e) {
    if (isPortBusyError(e)) throw portBusy();
    throw e;
  }
  const reader = port.readable!.getReader();
  let stopping = false;
  const closed = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value && value.length > 0) options.onData(value);
      }
    } catch {
      // the device went away: close below
    } finally {
      reader.releaseLock();
      try {
        await port.close();
      } catch {
        // already closed
      }
    }
  })();
  const stop = async () => {
    if (!stopping) {
      stopping = true;
      await reader.cancel().catch(() => {});
    }
    await closed;
  };
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  if (options.signal?.aborted) void stop();
  if (options.reset) await runSequence(port, HARD_RESET_SEQUENCE);
  return {
    write: async (bytes) => {
      const writer = port.writable!.getWriter();
      try {
        await writer.write(bytes);
      } finally {
        writer.releaseLock();
      }
    },
    stop,
    closed,
  };
}

/** Run an esptool-style reset string ("D0|R1|W100|R0") on a port. */
export async function runSequence(port: SerialPortLike, sequence: string): Promise<void> {
  for (const step of sequence.split('|')) {
    const arg = step.slice(1);
    if (step[0] === 'D') await port.setSignals({ dataTerminalReady: arg === '1' });
    else if (step[0] === 'R') await port.setSignals({ requestToSend: arg === '1' });
    else if (step[0] === 'W') await sleep(Number(arg));
  }
}
