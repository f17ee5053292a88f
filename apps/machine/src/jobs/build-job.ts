import type { Artifact, BuildStatus, ErrorBody, JobParams, JobState, Target } from '@aegis/protocol';
import type { BuildBackend, BuildOutcome } from '../build/backend.js';
import { LogBuffer } from './log-buffer.js';

export interface BuildJobInit {
  id: string;
  userId: string;
  workspaceDir: string;
  params: JobParams;
}

/**
 * One build job's state on this machine: workspace, log, build outcome. It outlives the client's connection so
 * the owner can reattach; the registry forgets it after the retention time.
 */
export class BuildJob {
  readonly id: string;
  readonly userId: string;
  readonly workspaceDir: string;
  readonly params: JobParams;
  readonly log = new LogBuffer();
  state: JobState = 'assigned';
  target?: Target;
  idfVersion?: string;
  exitCode?: number;
  error?: ErrorBody;
  outcome?: BuildOutcome;
  projectUploaded = false;
  /** Sessions (connections) currently attached. */
  attached = 0;
  buildStarted = false;
  finishedAt?: number;
  /** Whether this machine emulates a target (set by the session; `emulator` in the status). */
  emulates?: (target: Target) => boolean;
  private abort?: AbortController;
  private running?: Promise<BuildOutcome>;
  private readonly statusListeners = new Set<(s: BuildStatus) => void>();

  constructor(init: BuildJobInit) {
    this.id = init.id;
    this.userId = init.userId;
    this.workspaceDir = init.workspaceDir;
    this.params = init.params;
    this.target = init.params.target;
    this.idfVersion = init.params.idf_version;
  }

  get isBuilding(): boolean {
    return this.running !== undefined;
  }

  get artifacts(): Artifact[] {
    return this.outcome?.artifacts ?? [];
  }

  status(): BuildStatus {
    return {
      state: this.state,
      ...(this.exitCode !== undefined ? { exit_code: this.exitCode } : {}),
      ...(this.error ? { error: this.error } : {}),
      ...(this.target ? { target: this.target } : {}),
      ...(this.idfVersion ? { idf_version: this.idfVersion } : {}),
      ...(this.emulates ? { emulator: this.target !== undefined && this.emulates(this.target) } : {}),
      next_seq: this.log.nextSeq,
    };
  }

  onStatus(cb: (s: BuildStatus) => void): () => void {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }

  setState(state: JobState, extra: { exitCode?: number; error?: ErrorBody } = {}): void {
    this.state = state;
    if (extra.exitCode !== undefined) this.exitCode = extra.exitCode;
    if (extra.error) this.error = extra.error;
    if (['succeeded', 'failed', 'canceled'].includes(state)) this.finishedAt = Date.now();
    const s = this.status();
    for (const cb of this.statusListeners) cb(s);
  }

  /** Starts the build in the background; resolves with the outcome when it ends. */
  startBuild(
    backend: BuildBackend,
    opts: { target?: Target; idfVersion?: string; profile?: 'debug' | 'release'; clean?: boolean },
  ): Promise<BuildOutcome> {
    if (this.running) throw new Error('build already running');
    this.buildStarted = true;
    this.abort = new AbortController();
    this.outcome = undefined;
    this.exitCode = undefined;
    this.error = undefined;
    if (opts.target) this.target = opts.target;
    if (opts.idfVersion) this.idfVersion = opts.idfVersion;
    this.setState('running');
    const signal = this.abort.signal;
    this.running = backend
      .build({
        jobId: this.id,
        userId: this.userId,
        workspaceDir: this.workspaceDir,
        target: this.target,
        idfVersion: this.idfVersion,
        profile: opts.profile,
        clean: opts.clean,
        timeoutSecs: this.params.timeout_secs,
        cpuCores: this.params.cpu_cores,
        memoryMb: this.params.memory_mb,
        signal,
        onLine: (stream, text) => void this.log.append(stream, text),
        // A client that is behind holds the build's output back (until the log cap).
        flow: this.log,
      })
      .catch((err: Error): BuildOutcome => ({
        state: signal.aborted ? 'canceled' : 'failed',
        exitCode: null,
        error: { code: 'build_error', message: `The build could not run: ${err.message}` },
        target: this.target ?? 'esp32',
        idfVersion: this.idfVersion ?? 'unknown',
        artifacts: [],
      }))
      .then((outcome) => {
        this.log.endOfOutput();
        this.outcome = outcome;
        this.target = outcome.target;
        this.idfVersion = outcome.idfVersion;
        this.running = undefined;
        this.setState(outcome.state, { exitCode: outcome.exitCode ?? undefined, error: outcome.error });
        return outcome;
      });
    return this.running;
  }

  cancel(): void {
    this.abort?.abort();
  }

  /** Resolves when the running build (if any) has ended. */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
