/// <reference lib="webworker" />
import { SimDevice } from '@aegis/device-sim/device';
import { serveDevice } from '@aegis/device-sim/worker-bridge';

/**
 * The virtual board's chip runs here, off the page's main thread: a simulated ESP32-C3 (ROM loader, stub,
 * 4 MiB flash, boot log) from libs/device-sim. The page talks to it through SimSerialPort over remoteDevice().
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;
serveDevice(new SimDevice({ chip: 'esp32c3', flashSize: 4 * 1024 * 1024 }), scope);
