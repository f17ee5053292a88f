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
  /** The project archive this task uploaded and its build options, kept in memory to build it again. */
  source?: { tar: Uint8Array; options: TaskBuildOptions };
  /** After `done`: resolves once the last log lines are in and the machine session is closed. */
  settled?: Promise<void>;
}

export interface TaskBuildOptions {
  target?: Target;
  idf_version?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
}

type Listener = (task: BuildTask) => void;

/** The builds this server started or attached to, in memory only (never persisted). */
export class TaskRegistry {
  private readonly tasks = new Map<string, BuildTask & { resolve: () => void }>();
  private readonly listeners = new Set<Listener>();
  private latestId: string | undefined;

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

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.tasks.values()].map((t) => t.session?.close()));
  }
}
