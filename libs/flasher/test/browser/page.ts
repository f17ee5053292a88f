// Bundled for Chromium by browser.rtc.spec.ts: flash a demo bundle onto a SimDevice in the page, and onto one
// served from a Web Worker (the dashboard's virtual board), with the real esptool-js.
import { buildDemoFirmware, remoteDevice, SimDevice, SimSerialPort, type ChipName } from '@aegis/device-sim';
import { buildTestBundle } from '@aegis/testkit/flash-bundle';
import { flash, type FlashBundleInput } from '@aegis/flasher';

const bundleFor = (chip: ChipName, name: string): Promise<FlashBundleInput> =>
  buildTestBundle(buildDemoFirmware({ chip, projectName: name, appSize: 96 * 1024 }), { chip, project: name });

const api = {
  async inPage() {
    const device = new SimDevice({ chip: 'esp32c3' });
    const r = await flash({
      port: new SimSerialPort(device),
      bundle: await bundleFor('esp32c3', 'in_page'),
      trust: { allowUnsigned: true },
    });
    await new Promise((res) => setTimeout(res, 50));
    return { baud: r.baud, modes: r.parts.map((p) => p.mode), bootLog: device.lastBootLog };
  },
  async viaWorker() {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    const port = new SimSerialPort(remoteDevice(worker));
    const r = await flash({
      port,
      bundle: await bundleFor('esp32s3', 'in_worker'),
      trust: { allowUnsigned: true },
      baud: 460800,
    });
    const bootLog = await new Promise<string>((resolve) => {
      worker.addEventListener('message', (e: MessageEvent) => e.data?.t === 'log' && resolve(e.data.log as string));
      worker.postMessage({ t: 'getlog' });
    });
    worker.terminate();
    return { baud: r.baud, modes: r.parts.map((p) => p.mode), bootLog };
  },
};
(globalThis as unknown as { flasherTest: typeof api }).flasherTest = api;
