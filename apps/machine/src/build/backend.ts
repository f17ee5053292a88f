import type { Artifact, BuildCapability, DecodedFrame, ErrorBody, LogLine, SizeDetail, Target } from '@aegis/protocol';
import type { OutputFlow } from '../sandbox/types.js';

/**
 * The seam between the agent (polling, grants, WebRTC channels) and what runs inside a job (store, sandbox,
 * idf.py, bundle). The agent owns the job's workspace directory and its lifetime; the backend only works in it.
 */
export interface BuildRequest {
  jobId: string;
  userId: string;
  /** Job workspace root. The uploaded project is unpacked in `<workspaceDir>/project`. */
  workspaceDir: string;
  target?: Target;
  idfVersion?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
  timeoutSecs: number;
  cpuCores: number;
  memoryMb: number;
  signal: AbortSignal;
  onLine(stream: LogLine['stream'], text: string): void;
  /** Backpressure for the build's output (pass it on to the sandbox run that streams into `onLine`). */
  flow?: OutputFlow;
}

export interface BuildOutcome {
  state: 'succeeded' | 'failed' | 'canceled';
  exitCode: number | null;
  error?: ErrorBody;
  target: Target;
  idfVersion: string;
  /** Directory holding every artifact listed below (flash bundle, merged image, ELF, size report…). */
  artifactsDir?: string;
  artifacts: Artifact[];
  /** Image sizes in bytes for the job row (metadata only). */
  sizes?: Record<string, number>;
}

/** How to start a terminal inside the job's sandbox (the agent runs it under node-pty). */
export interface SandboxedCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Call once the terminal process has exited (gives the sandbox uid back). */
  dispose?: () => void;
}

export interface BuildBackend {
  /**
   * IDF versions, targets and the (version, target) pairs the store builds, for heartbeats. Throws a clear error
   * when the store is broken. Without `builds`, every version is taken to build every target.
   */
  inventory(): Promise<{ idfVersions: string[]; targets: Target[]; builds?: BuildCapability[] }>;
  build(req: BuildRequest): Promise<BuildOutcome>;
  /**
   * `idf.py size --format json` of the last successful build in the workspace (summary, the default), or
   * `idf.py size-components` / `size-files --format json` (per archive / per object file), run in the sandbox.
   */
  size(workspaceDir: string, detail?: SizeDetail): Promise<Record<string, unknown>>;
  /** Addresses → function, file, line using the build's ELF and the toolchain's addr2line. */
  decode(workspaceDir: string, addresses: string[]): Promise<DecodedFrame[]>;
  /** A shell (or `idf.py menuconfig`) inside the job's sandbox. */
  /** `userId` gives the terminal the user's compiler cache, so `idf.py build` there matches the job's builds. */
  terminal(workspaceDir: string, command: 'shell' | 'menuconfig', userId?: string): Promise<SandboxedCommand>;
}
