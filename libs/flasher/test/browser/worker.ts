// The virtual board's worker side: a SimDevice served over the worker's message port.
import { serveDevice, SimDevice } from '@aegis/device-sim';

const device = new SimDevice({ chip: 'esp32s3' });
serveDevice(device, self as unknown as Parameters<typeof serveDevice>[1]);
self.addEventListener('message', (e: MessageEvent) => {
  if (e.data?.t === 'getlog') setTimeout(() => self.postMessage({ t: 'log', log: device.lastBootLog }), 50);
});
