import type { Target } from '@aegis/protocol';
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
}

/**
 * Run one build on a remote machine, in the background: pack, grant + connect, upload, build.start.
 * Every outcome lands in the task (state, error, logs); this never throws.
 */
export async function runRemoteBuild(
  remote: RemoteConnector,
  tasks: TaskRegistry,
  task: BuildTask,
  project: ProjectFiles,
  opts: RemoteBuildOptions,
): Promise<void> {
  let session: RemoteSession | undefined;
  try {
    const packed = await packProject(project);
    session = await remote.start({ target: opts.target, idf_version: opts.idf_version });
    tasks.update(task.id, { jobId: session.jobId, session, state: 'assigned', target: opts.target });
    session.onLog((line) => task.logs.push(line));
    session.onStatus((s) => tasks.applyStatus(task.id, s));
    await session.uploadProject(packed.tar);
    const params: Record<string, unknown> = {};
    if (opts.target) params.target = opts.target;
    if (opts.idf_version) params.idf_version = opts.idf_version;
    if (opts.profile) params.profile = opts.profile;
    if (opts.clean) params.clean = true;
    const status = await session.call('build.start', params);
    tasks.applyStatus(task.id, status);
  } catch (err) {
    tasks.update(task.id, { state: 'failed', error: toErrorBody(err) });
  }
}

/** Fetch log lines the notifications may have missed, so readers never see a gap. */
export async function backfillLogs(task: BuildTask): Promise<void> {
  if (!task.session) return;
  for (let i = 0; i < 100; i++) {
    const page = await task.session.call('log.read', { since_seq: task.logs.nextSeq, limit: 5000 });
    for (const l of page.lines) task.logs.push(l);
    if (!page.more || page.lines.length === 0) return;
  }
}

export function requireSession(task: BuildTask): RemoteSession {
  if (!task.session) {
    throw new EspctlError(
      task.state === 'failed' ? 'build_failed' : 'task_not_connected',
      task.error
        ? `The build has no machine connection: ${task.error.message}`
        : 'The build is not connected to a machine yet; try again shortly.',
    );
  }
  return task.session;
}
