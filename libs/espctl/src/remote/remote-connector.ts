import type {
  BuildStatus,
  EmulatedChip,
  EmulatorExitReason,
  EspctlMethod,
  EspctlParams,
  EspctlResult,
  LogLine,
  Target,
} from '@aegis/protocol';

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
  /** The `emulator` channel, when the session asked for it (`attach(jobId, {emulator: true})`). */
  emulator?: EmulatorPort;
  close(): Promise<void>;
}

export interface EmulatorReadyInfo {
  chip: EmulatedChip;
  flash_bytes: number;
  seconds: number;
}

export interface EmulatorExitInfo {
  reason: EmulatorExitReason;
  code: number | null;
  detail?: string;
}

/** The emulator channel as espctl uses it (libs/peer's EmulatorClient is the real one). */
export interface EmulatorPort {
  /** Boots the job's image; rejects with an error carrying the machine's `code` when it refuses. */
  start(opts?: { seconds?: number }): Promise<EmulatorReadyInfo>;
  /** Bytes to the emulated UART. */
  write(data: string | Uint8Array): Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<EmulatorExitInfo>;
  onOutput(cb: (bytes: Uint8Array) => void): () => void;
  onExit(cb: (exit: EmulatorExitInfo) => void): () => void;
  onError(cb: (err: Error & { code: string }) => void): () => void;
}

/** Opens sessions for one user against one control API. */
export interface RemoteConnector {
  start(request: RemoteBuildRequest): Promise<RemoteSession>;
  /** Reattach to an earlier job; with `emulator` the session also opens the emulator channel. */
  attach(jobId: string, opts?: { emulator?: boolean }): Promise<RemoteSession>;
}
