import { randomUUID } from 'node:crypto';
import type { BuildStatus, ErrorBody, JobState, Target } from '@aegis/protocol';
import { isTerminalJobState } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import type { RemoteSession } from '../remote/remote-connector.js';
import { LogBuffer } from './log-buffer.js';

export interface BuildTask {
  id: string;
  jobId?: string;
  session?: RemoteSession;
  logs: LogBuffer;
  state: JobState;
  exitCode?: number;
  error?: ErrorBody;
  target?: string;
  idfVersion?: string;
  createdAt: number;
  /** Resolves when the task reaches a terminal state. */
  done: Promise<void>;
  /**
   * The project archive this task uploaded and its build options, kept in memory to build it again. Only the
   * most recent archives are kept (see `TaskRegistry.keepSource`); an evicted task has `sourceEvicted` set.
   */
  source?: TaskSource;
  sourceEvicted?: boolean;
  /** After `done`: resolves once the last log lines are in and the machine session is closed. */
  settled?: Promise<void>;
}

export interface TaskBuildOptions {
  target?: Target;
  idf_version?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
}

export interface TaskSource {
  tar: Uint8Array;
  options: TaskBuildOptions;
}

type Listener = (task: BuildTask) => void;

/** How many uploaded project archives one registry (one MCP session) keeps in memory. */
export const DEFAULT_MAX_KEPT_ARCHIVES = 8;

/** The builds this server started or attached to, in memory only (never persisted). */
export class TaskRegistry {
  private readonly tasks = new Map<string, BuildTask & { resolve: () => void }>();
  private readonly listeners = new Set<Listener>();
  private latestId: string | undefined;
  /** Ids of the tasks holding an archive, least recently used first. */
  private readonly kept: string[] = [];
  private readonly closers = new Set<() => Promise<void>>();

  constructor(readonly maxKeptArchives = DEFAULT_MAX_KEPT_ARCHIVES) {}

  /** Keeps a task's project archive, dropping the least recently used ones beyond the cap (memory stays bounded). */
  keepSource(id: string, source: TaskSource): void {
    const t = this.tasks.get(id);
    if (!t) return;
    t.source = source;
    t.sourceEvicted = false;
    this.touchSource(id);
  }

  /** The task's archive (marking it recently used), or undefined when it never had one or it was evicted. */
  useSource(id: string): TaskSource | undefined {
    const t = this.tasks.get(id);
    if (!t?.source) return undefined;
    this.touchSource(id);
    return t.source;
  }

  private touchSource(id: string): void {
    const at = this.kept.indexOf(id);
    if (at >= 0) this.kept.splice(at, 1);
    this.kept.push(id);
    while (this.kept.length > this.maxKeptArchives) {
      const old = this.tasks.get(this.kept.shift() as string);
      if (old) {
        old.source = undefined;
        old.sourceEvicted = true;
      }
    }
  }

  create(): BuildTask {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const task = {
      id: randomUUID(),
      logs: new LogBuffer(),
      state: 'pending' as JobState,
      createdAt: Date.now(),
      done,
      resolve,
    };
    this.tasks.set(task.id, task);
    this.latestId = task.id;
    return task;
  }

  /** A task by its id or its job id. */
  get(id: string): BuildTask {
    const t = this.tasks.get(id) ?? [...this.tasks.values()].find((x) => x.jobId === id);
    if (!t)
      throw new EspctlError('task_not_found', `No build task "${id}" in this session; start one with the build tool.`);
    return t;
  }

  find(id: string): BuildTask | undefined {
    return this.tasks.get(id) ?? [...this.tasks.values()].find((x) => x.jobId === id);
  }

  latest(): BuildTask | undefined {
    return this.latestId ? this.tasks.get(this.latestId) : undefined;
  }

  list(): BuildTask[] {
    return [...this.tasks.values()];
  }

  update(
    id: string,
    patch: Partial<Pick<BuildTask, 'state' | 'exitCode' | 'error' | 'jobId' | 'session' | 'target' | 'idfVersion'>>,
  ): void {
    const t = this.tasks.get(id);
    if (!t) return;
    if (isTerminalJobState(t.state) && patch.state && patch.state !== t.state) return;
    Object.assign(t, patch);
    if (isTerminalJobState(t.state)) t.resolve();
    for (const fn of this.listeners) fn(t);
  }

  applyStatus(id: string, s: BuildStatus): void {
    this.update(id, {
      state: s.state,
      exitCode: s.exit_code,
      error: s.error,
      target: s.target,
      idfVersion: s.idf_version,
    });
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Run `fn` when the owner closes everything (the session ends): e.g. stop an emulator run on a task. */
  onClose(fn: () => Promise<void>): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.closers].map((fn) => fn()));
    await Promise.allSettled([...this.tasks.values()].map((t) => t.session?.close()));
  }
}
