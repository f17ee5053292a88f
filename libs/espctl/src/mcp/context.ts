import type { JobView } from '@aegis/protocol';
import type { Jwk } from '../flash/serial-tools.js';
import type { StoreCatalog } from '../store/store-catalog.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import type { RemoteConnector } from '../remote/remote-connector.js';
import type { FlashHandoff } from '../flash/flash-handoff-port.js';
import type { SerialTools } from '../flash/serial-tools.js';

export type EspctlMode = 'plan-only' | 'remote';

/** Everything a tool may touch, passed in so tests and the API can choose the real or a fake part. */
export interface EspctlContext {
  mode: EspctlMode;
  /** One sentence: why this mode is active (shown by install://overview and doctor). */
  modeReason: string;
  /** stdio may read and write the caller's disk; http must take projects inline. */
  transport: 'stdio' | 'http';
  /** Base directory for relative project paths (stdio). */
  cwd: string;
  /** A local toolchain store ($ESPCTL_STORE_ROOT, stdio only). */
  storeRoot?: string;
  /** Lists IDF versions: the local store in plan-only, the control API (or local store) in remote mode. */
  catalog(): Promise<StoreCatalog>;
  tasks: TaskRegistry;
  remote?: RemoteConnector;
  /** Control API base URL (remote mode), for doctor. Never includes credentials. */
  controlBaseUrl?: string;
  /** The flash-bundle signing key of a build machine, from the control API (remote mode only). */
  bundleKey?: (ref: { machine_id?: string; job_id?: string }) => Promise<Jwk | undefined>;
  /** A job's metadata from the control API by job id (remote mode): works from any session and API instance. */
  jobView?: (jobId: string) => Promise<JobView>;
  /** Checks reachability, key and clock of the control API (remote mode only). */
  probeControl?: () => Promise<ControlProbe>;
  install: { espctlPath?: string; httpUrl?: string };
  /** HTTP: hands firmware to the user's dashboard tab. */
  flashHandoff?: FlashHandoff;
  /** stdio: local serial ports. */
  serial?: SerialTools;
  version: string;
}

export interface ControlProbe {
  reachable: boolean;
  keyAccepted: boolean | undefined;
  clockSkewMs: number | undefined;
  detail: string;
}
