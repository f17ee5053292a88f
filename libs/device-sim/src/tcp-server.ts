import { createServer, type Server, type Socket } from 'node:net';
import { SimDevice, type DeviceOptions } from './device.js';

export interface TcpServerOptions {
  /** The device to serve; by default a new one in download mode (socket:// has no DTR/RTS to reset it). */
  device?: SimDevice;
  deviceOptions?: DeviceOptions;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
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
 * in download mode. One client at a time, like a serial port.
 */
export async function startTcpServer(options: TcpServerOptions = {}): Promise<RunningTcpServer> {
  const device =
    options.device ?? new SimDevice({ startInDownloadMode: true, baudAgnostic: true, ...options.deviceOptions });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (device.hostAttached) {
      socket.end('The simulated device is in use by another connection.\r\n');
      return;
    }
    socket.setNoDelay(true);
    const link = device.attachHost((bytes) => socket.write(bytes), device.baud);
    socket.on('data', (data: Uint8Array) => link.write(new Uint8Array(data)));
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
