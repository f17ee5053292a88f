import { createPeerConnector, rtcConfigFromEnv } from '../remote/peer-connector.js';
import type { SerialTools } from '../flash/serial-tools.js';
import { runCli } from './program.js';

/** Entry point of bin/espctl.js: the real WebRTC connector and serial ports. */
const env = process.env;
/** serialport, esptool-js and the flasher load only when a command really touches a port. */
const loadSerial = async (): Promise<SerialTools> =>
  (await import('../flash/node-serial-tools.js')).createNodeSerialTools();
const lazySerial: SerialTools = {
  flash: async (o) => (await loadSerial()).flash(o),
  monitor: async (o) => (await loadSerial()).monitor(o),
};
const code = await runCli(process.argv.slice(2), {
  env,
  cwd: process.cwd(),
  connectRemote: (baseUrl, apiKey) => createPeerConnector({ baseUrl, apiKey, rtcConfig: rtcConfigFromEnv(env) }),
  serial: async () => lazySerial,
});
// `mcp serve` resolves when stdin closes; everything else is done here.
process.exitCode = code;
