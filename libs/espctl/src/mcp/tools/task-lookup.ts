import { isTerminalJobState } from '@aegis/protocol';
import { adoptSession, backfillLogs, withSession } from '../../remote/remote-build.js';
import type { RemoteSession } from '../../remote/remote-connector.js';
import type { BuildTask } from '../../tasks/task-registry.js';
import type { EspctlContext } from '../context.js';
import { requireRemote } from './remote-guard.js';

const JOB_ID = /^[0-9a-f-]{36}$/i;

/**
 * Attach to a job this session has not seen (the API lets a user reattach to their own earlier job): a task
 * with its status and whole log. A running job keeps the session (closed when it ends); a finished one hands
 * the open session back to the caller, who closes it.
 */
async function attachTask(ctx: EspctlContext, id: string): Promise<{ task: BuildTask; session?: RemoteSession }> {
  const remote = requireRemote(ctx);
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
  if (isTerminalJobState(task.state)) return { task, session };
  adoptSession(ctx.tasks, task, session);
  return { task };
}

/** The task for a task id or job id (attaching to an unseen job id). */
export async function taskFor(ctx: EspctlContext, id: string): Promise<BuildTask> {
  requireRemote(ctx);
  const known = ctx.tasks.find(id);
  if (known) return known;
  if (!JOB_ID.test(id)) return ctx.tasks.get(id);
  const { task, session } = await attachTask(ctx, id);
  await session?.close().catch(() => undefined);
  return task;
}

/** `fn` with a session to the job of task/job `id`: one attachment at most (see withSession). */
export async function onJob<T>(
  ctx: EspctlContext,
  id: string,
  fn: (s: RemoteSession, task: BuildTask) => Promise<T>,
): Promise<T> {
  requireRemote(ctx);
  const known = ctx.tasks.find(id) ?? (JOB_ID.test(id) ? undefined : ctx.tasks.get(id));
  if (known) return withSession(ctx.remote, known, (s) => fn(s, known));
  const { task, session } = await attachTask(ctx, id);
  if (!session) return withSession(ctx.remote, task, (s) => fn(s, task));
  try {
    return await fn(session, task);
  } finally {
    await session.close().catch(() => undefined);
  }
}
