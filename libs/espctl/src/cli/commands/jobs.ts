import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { JobView, SizeDetail, isTerminalJobState } from '@aegis/protocol';
import { sizeResult, sizeTable } from '../../analysis/size-detail.js';
import { checkRelPath } from '../../config/project-files.js';
import { EspctlError } from '../../errors.js';
import { onJob, taskFor } from '../../mcp/tools/task-lookup.js';
import type { RemoteSession } from '../../remote/remote-connector.js';
import { checkBaseUrl, ControlClient } from '../../remote/control-client.js';
import { cliContext, requireRemoteCli } from '../cli-context.js';
import { resolveCredentials } from '../credentials.js';
import { jobIdOrLast } from '../last-job.js';
import type { CommandEnv } from '../program.js';
import type { BuildTask } from '../../tasks/task-registry.js';

const FIRMWARE_KINDS = new Set(['bundle-manifest', 'bundle-signature', 'image', 'merged', 'web-manifest']);

async function control(env: CommandEnv): Promise<ControlClient> {
  const c = await resolveCredentials(env.deps.env);
  if (!c) throw new EspctlError('not_logged_in', 'Not logged in; run espctl login --server <url> --token <key>.');
  return new ControlClient(checkBaseUrl(c.server, env.deps.env).href.replace(/\/$/, ''), c.token);
}

/** Attach to a job over WebRTC (once), run `fn`, and always close the session. */
async function withJob<T>(
  env: CommandEnv,
  id: string | undefined,
  fn: (task: BuildTask, session: RemoteSession) => Promise<T>,
): Promise<T> {
  const ctx = await cliContext(env.deps);
  requireRemoteCli(ctx);
  const jobId = await jobIdOrLast(id, env.deps.env);
  try {
    return await onJob(ctx, jobId, (s, task) => fn(task, s));
  } finally {
    await ctx.tasks.closeAll();
  }
}

/** The job's task with its whole log (and, while it runs, a live session that follows it). */
async function jobTask(env: CommandEnv, id: string | undefined, fn: (task: BuildTask) => Promise<void>): Promise<void> {
  const ctx = await cliContext(env.deps);
  requireRemoteCli(ctx);
  try {
    await fn(await taskFor(ctx, await jobIdOrLast(id, env.deps.env)));
  } finally {
    await ctx.tasks.closeAll();
  }
}

export function registerJobCommands(program: Command, env: CommandEnv): void {
  program
    .command('status')
    .description('state of a job (default: the last one)')
    .argument('[job]', 'job id')
    .action(async (job?: string) => {
      const id = await jobIdOrLast(job, env.deps.env);
      const c = await control(env);
      const res = await c.get(`/jobs/${encodeURIComponent(id)}`);
      if (res.status === 404) throw new EspctlError('job_not_found', `No job ${id} for this key.`);
      if (res.status === 401 || res.status === 403)
        throw new EspctlError('key_rejected', 'The control API refused the key; run espctl login again.');
      if (!res.ok) throw new EspctlError('control_error', `The control API answered ${res.status}.`);
      const raw = (await res.json()) as { job?: unknown };
      const v = JobView.parse(raw.job ?? raw);
      env
        .out()
        .result(
          v,
          () =>
            `job ${v.id}: ${v.state}${v.exit_code !== null ? ` (exit ${v.exit_code})` : ''}${v.error ? ` — ${v.error.message}` : ''}`,
        );
    });

  program
    .command('logs')
    .description('print the build log of a job')
    .argument('[job]', 'job id')
    .option('-f, --follow', 'keep printing until the build ends')
    .action(async (job: string | undefined, o: { follow?: boolean }) => {
      await jobTask(env, job, async (task) => {
        const out = env.out();
        let next = 0;
        const flush = (): void => {
          const page = task.logs.read(next, 100_000);
          for (const l of page.lines) out.line(l.text, l);
          next = page.next_seq;
        };
        flush();
        if (o.follow) {
          const off = task.logs.onLines(flush);
          if (!isTerminalJobState(task.state)) await task.done;
          off();
          await task.settled;
          flush();
        }
      });
    });

  program
    .command('cancel')
    .description('cancel a job')
    .argument('[job]', 'job id')
    .action(async (job?: string) => {
      const id = await jobIdOrLast(job, env.deps.env);
      const res = await (await control(env)).post(`/jobs/${encodeURIComponent(id)}/cancel`);
      if (res.status === 404) throw new EspctlError('job_not_found', `No job ${id} for this key.`);
      if (!res.ok) throw new EspctlError('control_error', `The control API answered ${res.status} to the cancel.`);
      env.out().result({ job_id: id, canceled: true }, () => `Canceled job ${id}.`);
    });

  program
    .command('artifacts')
    .description('list the files a job produced')
    .argument('[job]', 'job id')
    .action(async (job?: string) => {
      await withJob(env, job, async (_task, session) => {
        const r = await session.call('artifacts.list', {});
        env
          .out()
          .result(r, () =>
            r.artifacts.map((a) => `${a.kind.padEnd(16)} ${String(a.size).padStart(9)}  ${a.name}`).join('\n'),
          );
      });
    });

  program
    .command('download')
    .description('download the flash bundle of a job (sha256-checked)')
    .argument('[job]', 'job id')
    .option('-o, --out <dir>', 'output directory (default: firmware-<job>)')
    .option('--elf', 'also download the ELF')
    .action(async (job: string | undefined, o: { out?: string; elf?: boolean }) => {
      await withJob(env, job, async (task, session) => {
        const out = env.out();
        if (task.state !== 'succeeded')
          throw new EspctlError('build_not_succeeded', `The build is ${task.state}; nothing to download.`);
        const dir = env.dir(o.out ?? `firmware-${(task.jobId ?? 'job').slice(0, 8)}`);
        const { files, total } = await (async () => {
          const { artifacts } = await session.call('artifacts.list', {});
          const chosen = artifacts.filter((a) => FIRMWARE_KINDS.has(a.kind) || (o.elf && a.kind === 'elf'));
          const total = chosen.reduce((n, a) => n + a.size, 0);
          let done = 0;
          const files = [];
          for (const a of chosen) {
            const bytes = await session.getFile(a.name);
            if (createHash('sha256').update(bytes).digest('hex') !== a.sha256)
              throw new EspctlError('checksum_mismatch', `${a.name} arrived corrupted; try again.`);
            const dest = path.join(dir, checkRelPath(a.name));
            await mkdir(path.dirname(dest), { recursive: true });
            await writeFile(dest, bytes);
            done += a.size;
            out.progress('download', done, total);
            files.push({ name: a.name, size: a.size, sha256: a.sha256, path: dest });
          }
          return { files, total };
        })();
        out.result(
          { job_id: task.jobId, output_dir: dir, files },
          () => `Downloaded ${files.length} files (${total} bytes) to ${dir}.`,
        );
      });
    });

  program
    .command('size')
    .description('firmware size of a job (flash and RAM use), in total, per component or per object file')
    .argument('[job]', 'job id')
    .option('--target <chip>', 'only if the job built this target')
    .addOption(
      new Option('--detail <level>', 'summary, components (per archive) or files (per object)')
        .choices(SizeDetail.options as unknown as string[])
        .default('summary'),
    )
    .action(async (job: string | undefined, o: { target?: string; detail: SizeDetail }) => {
      await withJob(env, job, async (task, session) => {
        if (o.target && task.target && task.target !== o.target) {
          throw new EspctlError('task_not_found', `Job ${task.jobId} built ${task.target}, not ${o.target}.`);
        }
        const r = sizeResult(o.detail, await session.call('size', { detail: o.detail }));
        env.out().result({ job_id: task.jobId, ...r }, () => {
          if (r.components) return sizeTable(r.components, 'component');
          if (r.files) return sizeTable(r.files, 'file');
          return JSON.stringify(r.summary ?? r.report, null, 2);
        });
      });
    });
}
