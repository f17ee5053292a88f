import type { BuildTask } from '../../tasks/task-registry.js';
import type { EspctlContext } from '../context.js';
import { requireRemote } from './remote-guard.js';

/**
 * The task for a task id or job id. A job id this session has not seen is attached to (the API lets a user
 * reattach to their own earlier job for logs and firmware).
 */
export async function taskFor(ctx: EspctlContext, id: string): Promise<BuildTask> {
  const remote = requireRemote(ctx);
  const known = ctx.tasks.find(id);
  if (known) return known;
  if (!/^[0-9a-f-]{36}$/i.test(id)) return ctx.tasks.get(id);
  const session = await remote.attach(id);
  const task = ctx.tasks.create();
  ctx.tasks.update(task.id, { jobId: session.jobId, session, state: 'running' });
  session.onLog((l) => task.logs.push(l));
  session.onStatus((s) => ctx.tasks.applyStatus(task.id, s));
  ctx.tasks.applyStatus(task.id, await session.call('build.status', {}));
  return task;
}
