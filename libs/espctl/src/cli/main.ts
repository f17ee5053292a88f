import { createPeerConnector, rtcConfigFromEnv } from '../remote/peer-connector.js';
import { runCli } from './program.js';

/** Entry point of bin/espctl.js: the real WebRTC connector and serial ports. */
const env = process.env;
const code = await runCli(process.argv.slice(2), {
  env,
  cwd: process.cwd(),
  connectRemote: (baseUrl, apiKey) => createPeerConnector({ baseUrl, apiKey, rtcConfig: rtcConfigFromEnv(env) }),
});
// `mcp serve` resolves when stdin closes; everything else is done here.
process.exitCode = code;
