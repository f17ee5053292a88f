import { JobView } from '@aegis/protocol';
import { toErrorBody } from '../errors.js';
import type { SerialTools } from '../flash/serial-tools.js';
import { checkBaseUrl, ControlClient, type FetchLike } from '../remote/control-client.js';
import type { RemoteConnector } from '../remote/remote-connector.js';
import { readLocalStore } from '../store/store-catalog.js';
import { TaskRegistry } from '../tasks/task-registry.js';
import { ESPCTL_VERSION } from '../version.js';
import type { EspctlContext } from './context.js';
import { detectMode } from './mode.js';

export interface StdioContextOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  espctlPath?: string;
  /** Makes the WebRTC connector for remote mode (libs/peer). */
  connectRemote?: (baseUrl: string, key: string) => RemoteConnector;
  serial?: SerialTools;
  fetch?: FetchLike;
}

/** The context of `espctl mcp serve`: mode from the environment, local disk, local serial ports. */
export function createStdioContext(o: StdioContextOptions): EspctlContext {
  let { mode, reason } = detectMode(o.env);
  const storeRoot = o.env.ESPCTL_STORE_ROOT;
  let control: ControlClient | undefined;
  let remote: RemoteConnector | undefined;
  if (mode === 'remote') {
    try {
      const base = checkBaseUrl(o.env.CONTROL_BASE_URL!, o.env).href.replace(/\/$/, '');
      const key = o.env.MCP_AUTH_SECRET!.trim();
      control = new ControlClient(base, key, o.fetch);
      remote = o.connectRemote?.(base, key);
    } catch (err) {
      mode = 'plan-only';
      reason = `CONTROL_BASE_URL was refused: ${toErrorBody(err).message.replace(/\.$/, '')}`;
    }
  }
  return {
    mode,
    modeReason: reason,
    transport: 'stdio',
    cwd: o.cwd,
    storeRoot,
    catalog: async () => {
      const local = await readLocalStore(storeRoot);
      if (!control || local.source === 'local-store') return local;
      return control.catalog();
    },
    tasks: new TaskRegistry(),
    remote,
    controlBaseUrl: control?.baseUrl,
    probeControl: control ? () => control.probe() : undefined,
    bundleKey: control ? (ref) => control.bundleKey(ref) : undefined,
    jobView: control ? (id) => control.json(`/jobs/${encodeURIComponent(id)}`, JobView) : undefined,
    install: { espctlPath: o.espctlPath },
    serial: o.serial,
    version: ESPCTL_VERSION,
  };
}
