import type { RtcConfig } from '@aegis/peer';
import { JobView } from '@aegis/protocol';
import type { FlashHandoff } from '../../flash/flash-handoff-port.js';
import { ControlClient } from '../../remote/control-client.js';
import { createPeerConnector } from '../../remote/peer-connector.js';
import type { RemoteConnector } from '../../remote/remote-connector.js';
import { TaskRegistry } from '../../tasks/task-registry.js';
import { ESPCTL_VERSION } from '../../version.js';
import type { EspctlContext } from '../context.js';
import type { McpPrincipal } from './http-sessions.js';

export interface HttpContextOptions {
  principal: McpPrincipal;
  /** Where this process's own REST API answers (loopback): grants, signaling and /machines for this user. */
  selfUrl: string;
  /** The public URL of the API, for install snippets (`<publicUrl>/mcp`). */
  publicUrl: string;
  flashHandoff: FlashHandoff;
  rtcConfig?: RtcConfig;
  /** Tests may swap the WebRTC connector. */
  connectRemote?: (baseUrl: string, key: string) => RemoteConnector;
}

/**
 * The context of one MCP session served by the API: always remote, acting for the key's user. The WebRTC client
 * runs in this process; logs and firmware stay in this session's memory and go when it ends.
 */
export function createHttpContext(o: HttpContextOptions): EspctlContext {
  const control = new ControlClient(o.selfUrl, o.principal.key);
  const remote = o.connectRemote
    ? o.connectRemote(o.selfUrl, o.principal.key)
    : createPeerConnector({ baseUrl: o.selfUrl, apiKey: o.principal.key, rtcConfig: o.rtcConfig });
  return {
    mode: 'remote',
    modeReason: 'served by the Aegis control API, acting for the user of the API key',
    transport: 'http',
    cwd: '/',
    catalog: () => control.catalog(),
    tasks: new TaskRegistry(),
    remote,
    controlBaseUrl: o.publicUrl,
    probeControl: () => control.probe(),
    bundleKey: (ref) => control.bundleKey(ref),
    jobView: (id) => control.json(`/jobs/${encodeURIComponent(id)}`, JobView),
    install: { httpUrl: `${o.publicUrl.replace(/\/+$/, '')}/mcp` },
    flashHandoff: o.flashHandoff,
    version: ESPCTL_VERSION,
  };
}
