import { isTerminalJobState, type Target } from '@aegis/protocol';
import type { ProjectFiles } from '../config/project-files.js';
import { EspctlError, toErrorBody } from '../errors.js';
import { packProject } from '../project/tar-pack.js';
import type { BuildTask, TaskRegistry } from '../tasks/task-registry.js';
import type { RemoteConnector, RemoteSession } from './remote-connector.js';

export interface RemoteBuildOptions {
  target?: Target;
  idf_version?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
  /** Upload progress (for a terminal progress bar). */
  onUploadProgress?: (sent: number, total: number) => void;
}

/** How often a live build's status is polled in case a status notification was lost. */
const STATUS_POLL_MS = 2000;

/**
 * Wire a live session into a task: log lines and status land in the task; when the job ends the remaining lines
 * are fetched and the session is closed, which frees the machine (later reads reattach, see `withSession`).
 */
export function adoptSession(tasks: TaskRegistry, task: BuildTask, session: RemoteSession): void {
  tasks.update(task.id, { jobId: task.jobId ?? session.jobId, session });
  const offLog = session.onLog((lines) => task.logs.pushAll(lines));
  const offStatus = session.onStatus((s) => tasks.applyStatus(task.id, s));
  const poll = setInterval(() => {
    session.call('build.status', {}).then(
      (s) => tasks.applyStatus(task.id, s),
      () => undefined,
    );
  }, STATUS_POLL_MS);
  poll.unref();
  task.settled = task.done.then(async () => {
    clearInterval(poll);
    // New operations reattach from now on; the ones still using this session finish first.
    if (task.session === session) tasks.update(task.id, { session: undefined });
    await backfillLogs(task, session).catch(() => undefined);
    offLog();
    offStatus();
    for (let i = 0; i < 600 && (inUse.get(session) ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    await session.close().catch(() => undefined);
  });
}

/** Operations running on a live session, so it is not closed under them. */
const inUse = new WeakMap<RemoteSession, number>();

/**
 * Run one build on a remote machine: pack, grant + connect, upload, build.start. Resolves once the build
 * started (or failed to); every outcome lands in the task (state, error, logs). Never throws.
 */
export async function runRemoteBuild(
  remote: RemoteConnector,
  tasks: TaskRegistry,
  task: BuildTask,
  project: ProjectFiles,
  opts: RemoteBuildOptions,
): Promise<void> {
  let tar: Uint8Array;
  try {
    tar = (await packProject(project)).tar;
  } catch (err) {
    tasks.update(task.id, { state: 'failed', error: toErrorBody(err) });
    return;
  }
  await runUploadedBuild(remote, tasks, task, tar, opts);
}

/**
 * A build of an already packed project. The task keeps the archive and options (in memory, for this session), so
 * `set_target.run` can build the very same project again for another chip. With `viaSetTarget`, the target is
 * chosen with the machine's `set_target` before `build.start` (the machine then runs `idf.py set-target`).
 */
export async function runUploadedBuild(
  remote: RemoteConnector,
  tasks: TaskRegistry,
  task: BuildTask,
  tar: Uint8Array,
  opts: RemoteBuildOptions & { viaSetTarget?: boolean },
): Promise<void> {
  const { onUploadProgress, viaSetTarget, ...kept } = opts;
  tasks.keepSource(task.id, { tar, options: kept });
  try {
    const session = await remote.start({
      target: opts.target,
      idf_version: opts.idf_version,
      // The job id is the durable handle: known while the job still waits in the queue.
      onJobId: (jobId) => {
        if (!task.jobId) tasks.update(task.id, { jobId });
      },
    });
    tasks.update(task.id, { state: 'assigned', target: opts.target });
    adoptSession(tasks, task, session);
    await session.uploadProject(tar, onUploadProgress);
    const params: Record<string, unknown> = {};
    if (opts.target && viaSetTarget) await session.call('set_target', { target: opts.target });
    else if (opts.target) params.target = opts.target;
    if (opts.idf_version) params.idf_version = opts.idf_version;
    if (opts.profile) params.profile = opts.profile;
    if (opts.clean) params.clean = true;
    tasks.applyStatus(task.id, await session.call('build.start', params));
  } catch (err) {
    tasks.update(task.id, { state: 'failed', error: toErrorBody(err) });
  }
}

/** Fetch log lines the notifications may have missed, so readers never see a gap. */
export async function backfillLogs(task: BuildTask, session = task.session): Promise<void> {
  if (!session) return;
  for (let i = 0; i < 1000; i++) {
    const page = await session.call('log.read', { since_seq: task.logs.nextSeq, limit: 5000 });
    task.logs.pushAll(page.lines);
    if (!page.more || page.lines.length === 0) return;
  }
}

/**
 * Run `fn` with a session to the task's job: the live one while the build runs, else a short reattachment
 * (attach grant) that is closed afterwards so the machine is free again.
 */
export async function withSession<T>(
  remote: RemoteConnector | undefined,
  task: BuildTask,
  fn: (s: RemoteSession) => Promise<T>,
): Promise<T> {
  const live = task.session;
  if (live) {
    inUse.set(live, (inUse.get(live) ?? 0) + 1);
    try {
      return await fn(live);
    } finally {
      inUse.set(live, (inUse.get(live) ?? 1) - 1);
    }
  }
  if (!task.jobId || !remote) {
    throw new EspctlError(
      task.state === 'failed' ? 'build_failed' : 'task_not_connected',
      task.error
        ? `The build never reached a machine: ${task.error.message}`
        : 'The build is not connected to a machine yet; try again shortly.',
    );
  }
  if (!isTerminalJobState(task.state)) {
    throw new EspctlError('task_not_connected', 'The build is still starting; try again shortly.');
  }
  const session = await remote.attach(task.jobId);
  try {
    return await fn(session);
  } finally {
    await session.close().catch(() => undefined);
  }
}
