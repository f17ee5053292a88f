import { isTerminalJobState } from '@aegis/protocol';
import { adoptSession, backfillLogs, withSession } from '../../remote/remote-build.js';
import type { RemoteSession } from '../../remote/remote-connector.js';
import type { BuildTask } from '../../tasks/task-registry.js';
import type { EspctlContext } from '../context.js';
import { requireRemote } from './remote-guard.js';

/**
 * The task for a task id or job id. A job id this session has not seen is attached to (the API lets a user
 * reattach to their own earlier job): its status and log are read, and the session stays only while it runs.
 */
export async function taskFor(ctx: EspctlContext, id: string): Promise<BuildTask> {
  const remote = requireRemote(ctx);
  const known = ctx.tasks.find(id);
  if (known) return known;
  if (!/^[0-9a-f-]{36}$/i.test(id)) return ctx.tasks.get(id);
  const session = await remote.attach(id);
  const task = ctx.tasks.create();
  try {
    // The attachment is a job of its own; the task keeps the id of the build it looks at.
    ctx.tasks.update(task.id, { jobId: id });
    ctx.tasks.applyStatus(task.id, await session.call('build.status', {}));
    await backfillLogs(task, session);
  } catch (err) {
    await session.close().catch(() => undefined);
    throw err;
  }
  if (isTerminalJobState(task.state)) await session.close().catch(() => undefined);
  else adoptSession(ctx.tasks, task, session);
  return task;
}

/** `fn` with a session to the job of task/job `id` (see withSession). */
export async function onJob<T>(
  ctx: EspctlContext,
  id: string,
  fn: (s: RemoteSession, task: BuildTask) => Promise<T>,
): Promise<T> {
  const task = await taskFor(ctx, id);
  return withSession(ctx.remote, task, (s) => fn(s, task));
}
