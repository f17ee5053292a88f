import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { IdfVersion, isTerminalJobState, JobState, QueueInfo, Target, type JobView } from '@aegis/protocol';
import { loadProjectConfig } from '../../config/project-config.js';
import { generateBuildPlan, generateCleanPlan, type BuildPlan } from '../../plan/build-plan.js';
import { defaultVersion } from '../../store/store-catalog.js';
import { runRemoteBuild, runUploadedBuild, withSession } from '../../remote/remote-build.js';
import { EspctlError } from '../../errors.js';
import type { BuildTask } from '../../tasks/task-registry.js';
import type { EspctlContext } from '../context.js';
import { openProject, projectInput } from '../project-input.js';
import { defineTool, reportProgress, type ToolExtra } from '../tool-kit.js';
import { requireRemote } from './remote-guard.js';

const stepShape = z.object({ id: z.string(), title: z.string(), detail: z.string() });
export const planShape = z.object({
  project: z.string(),
  target: z.string(),
  target_source: z.string(),
  idf_version: z.string(),
  idf_version_source: z.string(),
  profile: z.string(),
  clean: z.boolean(),
  steps: z.array(stepShape),
  warnings: z.array(z.string()),
});

const buildOptions = {
  target: Target.optional(),
  idf_version: IdfVersion.optional(),
  profile: z.enum(['debug', 'release']).optional(),
  clean: z.boolean().optional(),
};

export const statusShape = {
  task_id: z.string(),
  job_id: z.string().optional(),
  status: z.union([z.literal('planning'), JobState]),
  exit_code: z.number().int().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  target: z.string().optional(),
  idf_version: z.string().optional(),
  next_seq: z.number().int().optional(),
  /** While the job waits for a machine: its place (jobs ahead, round-robin), the wait estimate and its basis. */
  queue: QueueInfo.optional(),
  /** The machine deleted the results then (retention): run build again from the same source to get them back. */
  results_expired_at: z.string().optional(),
};

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The API's view of a job, for a job this session does not hold (a fresh session, another API instance). */
async function jobView(ctx: EspctlContext, id: string): Promise<JobView> {
  if (!ctx.jobView) throw new EspctlError('remote_required', 'Looking a job up by id needs the control API.');
  try {
    return await ctx.jobView(id);
  } catch (err) {
    if (err instanceof EspctlError && /answered 404/.test(err.message))
      throw new EspctlError('task_not_found', `No job ${id} for this key; pass a task_id or job_id from build.`);
    throw err;
  }
}

/** build.status from the API's job record: state, error, queue place and results expiry survive any session. */
function statusOfView(v: JobView, taskId = v.id): z.infer<z.ZodObject<typeof statusShape>> {
  return {
    task_id: taskId,
    job_id: v.id,
    status: v.state,
    exit_code: v.exit_code ?? undefined,
    error: v.error ? { code: v.error.code, message: v.error.message } : undefined,
    target: v.params.target,
    idf_version: v.params.idf_version,
    queue: v.queue ?? undefined,
    results_expired_at: v.results_expired_at ?? undefined,
  };
}

/** Resolves once the task has its job id (the API queued the job) or its run settled, whichever comes first. */
async function jobIdKnown(task: BuildTask, run: Promise<void>, signal: AbortSignal): Promise<void> {
  let done = false;
  void run.finally(() => (done = true));
  while (!task.jobId && !done && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
}

export function taskStatus(task: BuildTask): z.infer<z.ZodObject<typeof statusShape>> {
  return {
    task_id: task.id,
    job_id: task.jobId,
    status: task.state,
    exit_code: task.exitCode,
    error: task.error ? { code: task.error.code, message: task.error.message } : undefined,
    target: task.target,
    idf_version: task.idfVersion,
    next_seq: task.logs.nextSeq,
  };
}

async function planFor(
  ctx: EspctlContext,
  args: z.infer<z.ZodObject<typeof projectInput & typeof buildOptions>>,
): Promise<BuildPlan> {
  const project = openProject(ctx, args);
  const config = await loadProjectConfig(project);
  const files = await project.list();
  // The store default only fills in the plan's text; an unreachable API must not stop the build from reporting.
  const catalog = await ctx.catalog().catch(() => ({ source: 'none' as const, versions: [] }));
  return generateBuildPlan({
    config,
    files,
    projectLabel: project.label,
    target: args.target,
    idfVersion: args.idf_version,
    profile: args.profile,
    clean: args.clean,
    storeDefault: defaultVersion(catalog),
  });
}

/**
 * Wait for a task to finish, reporting progress per batch of log lines (the caller passed a progressToken): the
 * count of lines so far and the batch's last line. A flood of output is then a notification per frame, not per line.
 */
async function followTask(task: BuildTask, extra: ToolExtra): Promise<void> {
  let n = 0;
  const off = task.logs.onLines((lines) => {
    n += lines.length;
    void reportProgress(extra, n, 0, lines[lines.length - 1].text).catch(() => undefined);
  });
  try {
    await Promise.race([
      task.done.then(() => task.settled),
      new Promise<void>((_, reject) =>
        extra.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
    ]);
  } finally {
    off();
  }
}

export function registerBuildTools(server: McpServer, ctx: EspctlContext): void {
  defineTool(
    server,
    {
      name: 'build',
      aliases: ['build.start'],
      title: 'Build firmware',
      description:
        'Start a build and return {task_id, status} at once; it runs in the background (poll build.status / logs.tail, or subscribe to build://log/{task_id}). With wait=true it returns when the build ends and sends a progress notification per batch of log lines. In plan-only mode it returns status "planning" and the plan naming each step; nothing compiles.',
      input: {
        ...projectInput,
        ...buildOptions,
        wait: z.boolean().default(false).describe('Wait for the build to finish'),
      },
      output: { ...statusShape, mode: z.enum(['plan-only', 'remote']), plan: planShape.optional() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => {
      const plan = await planFor(ctx, args);
      if (ctx.mode === 'plan-only') {
        return { task_id: `plan-${randomUUID()}`, status: 'planning' as const, mode: ctx.mode, plan };
      }
      const remote = requireRemote(ctx);
      const project = openProject(ctx, args);
      const task = ctx.tasks.create();
      await reportProgress(extra, 0, 0, 'requesting a build machine');
      const run = runRemoteBuild(remote, ctx.tasks, task, project, {
        target: args.target ?? (plan.target_source === 'default' ? undefined : (plan.target as z.infer<typeof Target>)),
        idf_version: args.idf_version ?? (plan.idf_version_source === 'store-default' ? undefined : plan.idf_version),
        profile: args.profile,
        clean: args.clean,
      });
      if (args.wait) {
        await run;
        await followTask(task, extra);
      } else await jobIdKnown(task, run, extra.signal);
      return { ...taskStatus(task), mode: ctx.mode, plan };
    },
  );

  defineTool(
    server,
    {
      name: 'build.status',
      title: 'Build status',
      description:
        'State of a build (pending, assigned, running, succeeded, failed, canceled, expired), exit code and error; while queued, its place and a wait estimate; when the machine deleted the results, when. task_id may be the job_id build returned: that works from any session and after a restart.',
      input: { task_id: z.string().min(1).max(100).describe('A task_id of this session, or any job_id') },
      output: statusShape,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async ({ task_id }) => {
      requireRemote(ctx);
      const known = ctx.tasks.find(task_id);
      // Not this session's: the API's record of the job (the session that ran it may be gone).
      if (!known && JOB_ID.test(task_id)) return statusOfView(await jobView(ctx, task_id));
      const task = known ?? ctx.tasks.get(task_id);
      if (task.session && !isTerminalJobState(task.state)) {
        ctx.tasks.applyStatus(task.id, await task.session.call('build.status', {}));
      }
      const status = taskStatus(task);
      // Waiting for a machine, or results possibly gone: the API knows the place in the queue and the expiry.
      if (task.jobId && ctx.jobView && (task.state === 'pending' || isTerminalJobState(task.state))) {
        const v = await ctx.jobView(task.jobId).catch(() => undefined);
        if (v?.queue) status.queue = v.queue;
        if (v?.results_expired_at) status.results_expired_at = v.results_expired_at;
      }
      return status;
    },
  );

  defineTool(
    server,
    {
      name: 'build.cancel',
      title: 'Cancel a build',
      description: 'Stop a running build; its sandbox is removed. Cancelling a finished build changes nothing.',
      input: { task_id: z.string().min(1).max(100) },
      output: statusShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    },
    async ({ task_id }) => {
      requireRemote(ctx);
      const task = ctx.tasks.get(task_id);
      if (isTerminalJobState(task.state)) return taskStatus(task);
      if (task.session) ctx.tasks.applyStatus(task.id, await task.session.call('build.cancel', {}));
      else ctx.tasks.update(task.id, { state: 'canceled' });
      return taskStatus(task);
    },
  );

  defineTool(
    server,
    {
      name: 'set_target.run',
      title: 'Switch the target and rebuild',
      description:
        "Switch a build task's project to another chip. On a finished build (or with no task_id, the latest task) it starts a new build of the same uploaded project on a new machine session: the machine's set_target (idf.py set-target, which regenerates sdkconfig and drops the incremental cache), then the build; returns the new task_id and state. On a task whose session is still live and idle it sets the target there.",
      input: {
        task_id: z.string().min(1).max(100).optional().describe('Default: the latest build task of this session'),
        target: Target,
      },
      output: {
        target: Target,
        task_id: z.string(),
        status: statusShape.status,
        previous_task_id: z.string().optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ task_id, target }) => {
      const remote = requireRemote(ctx);
      const prev = task_id ? ctx.tasks.get(task_id) : ctx.tasks.latest();
      if (!prev) throw new EspctlError('task_not_found', 'No build task in this session yet; start one with build.');
      if (!isTerminalJobState(prev.state)) {
        // A live build session: the machine takes the target for its next build (or refuses while one runs).
        const r = await withSession(remote, prev, (s) => s.call('set_target', { target }));
        return { target: r.target, task_id: prev.id, status: prev.state };
      }
      const source = ctx.tasks.useSource(prev.id);
      if (!source) {
        throw new EspctlError(
          'project_unknown',
          prev.sourceEvicted
            ? `Task ${prev.id}'s uploaded project was dropped from memory (only the ${ctx.tasks.maxKeptArchives} most recent are kept); run build again with target "${target}".`
            : `Task ${prev.id} was not uploaded by this session, so its project is not at hand; run build with target "${target}".`,
        );
      }
      const task = ctx.tasks.create();
      await runUploadedBuild(remote, ctx.tasks, task, source.tar, {
        ...source.options,
        clean: false,
        target,
        viaSetTarget: true,
      });
      if (task.error) throw new EspctlError(task.error.code, task.error.message);
      return { target, task_id: task.id, status: task.state, previous_task_id: prev.id };
    },
  );

  defineTool(
    server,
    {
      name: 'generate_build_plan',
      title: 'Explain a build',
      description:
        'Return the steps a build of this project would take (IDF version resolution, target, upload, build, bundle), without running anything.',
      input: { ...projectInput, ...buildOptions },
      output: { plan: planShape },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async (args) => ({ plan: await planFor(ctx, args) }),
  );

  defineTool(
    server,
    {
      name: 'get_clean_plan',
      title: 'Explain a clean',
      description: 'Return what idf.py clean (or fullclean with full=true) would remove, without removing anything.',
      input: { ...projectInput, full: z.boolean().default(false) },
      output: { removes: z.array(z.string()), present: z.array(z.string()), steps: z.array(stepShape) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async (args) => {
      const project = openProject(ctx, args);
      return generateCleanPlan(await project.list(), args.full);
    },
  );
}
