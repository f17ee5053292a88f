import type { LogLine } from '@aegis/protocol';

/** Resource limits of one sandboxed command. */
export interface SandboxLimits {
  /** Address-space limit per process (RLIMIT_AS), MiB. */
  memoryMb: number;
  /** Memory of the whole process tree (cgroup memory limit, where cgroups are available), MiB. */
  totalMemoryMb: number;
  /** CPU bandwidth of the whole tree in cores (cgroup cpu quota, where available). */
  cpuCores: number;
  /** CPU time per process (RLIMIT_CPU), seconds. */
  cpuSecs: number;
  /** Processes and threads of the sandbox user (RLIMIT_NPROC). */
  maxProcs: number;
  /** Largest file a process may write (RLIMIT_FSIZE), MiB. */
  fileSizeMb: number;
  /** Wall clock: the whole process tree is killed after this many seconds. */
  timeoutSecs: number;
}

export interface SandboxSpec {
  /** argv, as seen inside the sandbox. */
  command: string[];
  /** Working directory inside the sandbox (use `Sandbox.workspacePath`). */
  cwd: string;
  env: Record<string, string>;
  /** Host directory bound read-write; the only writable place. */
  workspaceDir: string;
  /** Host directories bound read-only at the same path (the store). */
  readOnlyDirs: string[];
  /** More read-write binds, host → sandbox path: only directories the machine made (the emulator's flash copy). */
  binds?: Array<{ from: string; to: string }>;
  /** Supplementary host groups of the sandboxed uid (the compiler cache's group); none by default. */
  groups?: number[];
  limits: SandboxLimits;
}

/** Backpressure from whoever consumes the output (the job's log while a client is behind). */
export interface OutputFlow {
  /** Undefined when more output may be read now; else a promise that settles when reading may go on. */
  whenReady(): Promise<void> | undefined;
}

export interface RunIo {
  signal?: AbortSignal;
  onLine(stream: LogLine['stream'], text: string): void;
  /** When given, the command's pipes are not read while the flow is not ready, so the command blocks on write. */
  flow?: OutputFlow;
}

export interface RunResult {
  exitCode: number | null;
  /** Signal that ended the process, if any (e.g. SIGKILL from the timeout). */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  canceled: boolean;
}

/** A command line ready to spawn (used for terminals, which the agent runs under node-pty). */
export interface PreparedCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Give the uid back when the terminal has exited. */
  release(): void;
}

export interface Sandbox {
  readonly kind: 'bwrap' | 'none';
  /** True when nothing of this workspace's job runs (no terminal either): its files cannot change under us. */
  isIdle(workspaceDir: string): boolean;
  /** Where the workspace appears to the sandboxed command. */
  workspacePath(workspaceDir: string): string;
  run(spec: SandboxSpec, io: RunIo): Promise<RunResult>;
  /** The command line for `spec` without running it; `interactive` keeps the controlling terminal. */
  prepare(spec: SandboxSpec, opts: { interactive: boolean }): Promise<PreparedCommand>;
}
