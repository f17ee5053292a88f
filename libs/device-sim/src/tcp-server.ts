import { createServer, type Server, type Socket } from 'node:net';
import { SimDevice, type DeviceOptions } from './device.js';

export interface TcpServerOptions {
  /** The device to serve; by default a new one in download mode (socket:// has no DTR/RTS to reset it). */
  device?: SimDevice;
  deviceOptions?: DeviceOptions;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * Each new connection finds the chip freshly reset into download mode (default true), as a bridge that pulses
   * EN with IO0 low on connect would leave it: any number of esptool runs in a row work, whatever the previous
   * one left running (`--after no_reset` leaves the stub). false keeps the state across connections.
   */
  resetOnConnect?: boolean;
}

export interface RunningTcpServer {
  device: SimDevice;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Serve a SimDevice on TCP so esptool-compatible tools can use `--port socket://127.0.0.1:PORT`. Plain bytes
 * (no RFC 2217): baud changes are ignored on the link, and there are no DTR/RTS lines, so the device starts
 * in download mode and (by default) is reset into it again on every connection. One client at a time, like a
 * serial port.
 */
export async function startTcpServer(options: TcpServerOptions = {}): Promise<RunningTcpServer> {
  const device =
    options.device ?? new SimDevice({ startInDownloadMode: true, baudAgnostic: true, ...options.deviceOptions });
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // A client that just closed may not be detached yet (its 'end' still queued): give it a moment. What the
    // new client sends meanwhile is dropped, as bytes sent to a chip held in reset are: replaying a backlog of
    // SYNCs would flood it with stale replies.
    const drop = () => {};
    socket.on('data', drop);
    for (let i = 0; i < 300 && device.hostAttached; i++) await new Promise((r) => setTimeout(r, 10));
    socket.off('data', drop);
    if (device.hostAttached || socket.destroyed) {
      socket.end('The simulated device is in use by another connection.\r\n');
      return;
    }
    socket.setNoDelay(true);
    // Reset before the host is attached: the ROM banner goes nowhere, so the client's first bytes are replies.
    if (options.resetOnConnect !== false) device.pressReset(true);
    const link = device.attachHost((bytes) => socket.write(bytes), device.baud);
    socket.on('data', (data: Uint8Array) => link.write(new Uint8Array(data)));
    // The client closing its side ends the session at once (like closing a tty), not when the socket is gone.
    socket.on('end', () => {
      link.close();
      socket.end();
    });
    socket.on('close', () => link.close());
    socket.on('error', () => link.close());
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    device,
    port,
    url: `socket://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
