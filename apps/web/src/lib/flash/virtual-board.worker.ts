/// <reference lib="webworker" />
import { SimDevice, type HostLink } from '@aegis/device-sim';
import type { BoardReply, BoardRequest } from './virtual-board-messages';

/**
 * The virtual board's chip runs here, off the page's main thread: a simulated ESP32-C3 (ROM loader, stub,
 * 4 MiB flash, boot log) from libs/device-sim. The page talks to it through WorkerSerialPort.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;
const device = new SimDevice({ chip: 'esp32c3', flashSize: 4 * 1024 * 1024 });
let link: HostLink | null = null;

const reply = (m: BoardReply, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

scope.onmessage = (e: MessageEvent<BoardRequest>) => {
  const m = e.data;
  switch (m.t) {
    case 'open':
      if (link)
        return reply({
          t: 'done',
          id: m.id,
          error: { name: 'InvalidStateError', message: 'The port is already open.' },
        });
      try {
        link = device.attachHost((bytes) => {
          const copy = bytes.slice();
          reply({ t: 'data', bytes: copy }, [copy.buffer]);
        }, m.baud);
        reply({ t: 'done', id: m.id });
      } catch {
        reply({ t: 'done', id: m.id, error: { name: 'NetworkError', message: 'Failed to open serial port.' } });
      }
      return;
    case 'write':
      link?.write(m.bytes);
      return;
    case 'signals':
      link?.setSignals({ dtr: m.dtr, rts: m.rts });
      return;
    case 'close':
      // Closing a tty drops DTR and RTS, as SimSerialPort does.
      link?.setSignals({ dtr: false, rts: false });
      link?.close();
      link = null;
      reply({ t: 'done', id: m.id });
      return;
  }
};
