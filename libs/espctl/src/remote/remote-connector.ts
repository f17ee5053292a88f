import type { BuildStatus, EspctlMethod, EspctlParams, EspctlResult, LogLine, Target } from '@aegis/protocol';

export interface RemoteBuildRequest {
  /** Called once the API has created the job (before it waits in the queue): a durable handle to report. */
  onJobId?: (jobId: string) => void;
  target?: Target;
  idf_version?: string;
  timeout_secs?: number;
}

/** One WebRTC session with a build machine, as espctl needs it (libs/peer provides the real one). */
export interface RemoteSession {
  readonly jobId: string;
  readonly machineId?: string;
  call<M extends EspctlMethod>(method: M, params: EspctlParams<M>): Promise<EspctlResult<M>>;
  uploadProject(tar: Uint8Array, onProgress?: (sent: number, total: number) => void): Promise<void>;
  /** Bytes of one artifact over the firmware channel, sha256-checked against the header. */
  getFile(name: string): Promise<Uint8Array>;
  /** Each `log` frame's lines, in seq order. */
  onLog(fn: (lines: LogLine[]) => void): () => void;
  onStatus(fn: (status: BuildStatus) => void): () => void;
  close(): Promise<void>;
}

/** Opens sessions for one user against one control API. */
export interface RemoteConnector {
  start(request: RemoteBuildRequest): Promise<RemoteSession>;
  attach(jobId: string): Promise<RemoteSession>;
}
