import type { Command } from 'commander';
import { Option } from 'commander';
import type { Target } from '@aegis/protocol';
import { loadProjectConfig } from '../../config/project-config.js';
import { DiskProject } from '../../config/project-files.js';
import { EspctlError } from '../../errors.js';
import { generateBuildPlan } from '../../plan/build-plan.js';
import { runRemoteBuild } from '../../remote/remote-build.js';
import { defaultVersion } from '../../store/store-catalog.js';
import { cliContext, requireRemoteCli } from '../cli-context.js';
import { ExitCode } from '../exit-codes.js';
import { rememberJob } from '../last-job.js';
import { findIdfPy, runIdfPy } from '../local-build.js';
import { setExitCode, targetOption, type CommandEnv } from '../program.js';

interface BuildOpts {
  local?: boolean;
  target?: Target;
  idfVersion?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
  follow?: boolean;
  project: string;
}

export function registerBuildCommands(program: Command, env: CommandEnv): void {
  program
    .command('build')
    .description('build the project on a build machine (or with a local ESP-IDF with --local)')
    .option('-C, --project <dir>', 'project directory', '.')
    .option('--local', 'build with the local ESP-IDF (IDF_PATH / idf.py on PATH)')
    .addOption(targetOption())
    .option('--idf-version <version>', 'ESP-IDF version')
    .addOption(new Option('--profile <profile>', 'build profile').choices(['debug', 'release']))
    .option('--clean', 'clean before building')
    .option('-f, --follow', 'stream the log until the build ends')
    .action(async (o: BuildOpts, cmd: Command) => {
      const out = env.out();
      const dir = env.dir(o.project);
      const project = new DiskProject(dir);
      const config = await loadProjectConfig(project);
      if (!config.hasCMakeLists)
        throw new EspctlError('not_a_project', `${dir} has no CMakeLists.txt; run espctl project create first.`);

      if (o.local) {
        const idfPy = await findIdfPy(env.deps.env);
        const print = (line: string, stream: 'stdout' | 'stderr'): void => out.line(line, { stream, text: line });
        const target = o.target ?? config.target;
        if (o.clean && (await runIdfPy(idfPy, ['fullclean'], dir, env.deps.env, print)) !== 0) {
          throw new EspctlError('build_failed', 'idf.py fullclean failed.');
        }
        if (target && (await runIdfPy(idfPy, ['set-target', target], dir, env.deps.env, print)) !== 0) {
          throw new EspctlError('build_failed', `idf.py set-target ${target} failed.`);
        }
        const code = await runIdfPy(idfPy, ['build'], dir, env.deps.env, print);
        out.result({ status: code === 0 ? 'succeeded' : 'failed', exit_code: code }, () =>
          code === 0 ? 'Build succeeded.' : `Build failed (exit ${code}).`,
        );
        if (code !== 0) setExitCode(cmd, ExitCode.BuildFailed);
        return;
      }

      const ctx = await cliContext(env.deps);
      if (ctx.mode === 'plan-only') {
        const plan = generateBuildPlan({
          config,
          files: await project.list(),
          projectLabel: dir,
          target: o.target,
          idfVersion: o.idfVersion,
          profile: o.profile,
          clean: o.clean,
          storeDefault: defaultVersion(await ctx.catalog()),
        });
        out.result({ status: 'planning', mode: ctx.mode, reason: ctx.modeReason, plan }, () =>
          [
            `Plan only (${ctx.modeReason}); run espctl login to build remotely, or --local.`,
            ...plan.steps.map((s, i) => `  ${i + 1}. ${s.title}: ${s.detail}`),
          ].join('\n'),
        );
        setExitCode(cmd, ExitCode.PlanOnly);
        return;
      }
      const remote = requireRemoteCli(ctx);
      const task = ctx.tasks.create();
      out.info('Requesting a build machine…');
      await runRemoteBuild(remote, ctx.tasks, task, project, {
        target: o.target ?? config.target,
        idf_version: o.idfVersion ?? config.idfVersion,
        profile: o.profile ?? config.profile,
        clean: o.clean,
        onUploadProgress: (sent, total) => out.progress('upload', sent, total),
      });
      if (task.state === 'failed' && !task.jobId)
        throw new EspctlError(task.error?.code ?? 'build_failed', task.error?.message ?? 'The build could not start.');
      if (task.jobId) await rememberJob(task.jobId, task.target, env.deps.env);
      try {
        if (o.follow) {
          let printed = 0;
          const print = (): void => {
            const page = task.logs.read(printed, 100_000);
            for (const l of page.lines) {
              out.line(l.text, l);
              const step = /^\[(\d+)\/(\d+)\]/.exec(l.text);
              if (step) out.progress('build', Number(step[1]), Number(step[2]));
            }
            printed = page.next_seq;
          };
          const off = task.logs.onLines(print);
          await task.done;
          off();
          await task.settled;
          print();
        }
        const r = { job_id: task.jobId, status: task.state, exit_code: task.exitCode, error: task.error };
        out.result(r, () =>
          o.follow
            ? `Build ${task.state}${task.exitCode !== undefined ? ` (exit ${task.exitCode})` : ''}. Job ${task.jobId}`
            : `Build started: job ${task.jobId} (${task.state}). Follow with: espctl logs --follow`,
        );
        if (task.state === 'failed' || task.state === 'canceled' || task.state === 'expired')
          setExitCode(cmd, ExitCode.BuildFailed);
      } finally {
        await ctx.tasks.closeAll();
      }
    });
}
