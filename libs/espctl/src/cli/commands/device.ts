import type { Command } from 'commander';
import { EspctlError } from '../../errors.js';
import { bundleFromDir, bundleFromJob } from '../../flash/bundle-images.js';
import { signingKey } from '../../mcp/tools/flash-tools.js';
import { onJob } from '../../mcp/tools/task-lookup.js';
import { cliContext } from '../cli-context.js';
import { jobIdOrLast } from '../last-job.js';
import type { CommandEnv } from '../program.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new EspctlError('invalid_input', `"${v}" is not a non-negative integer.`);
  return n;
};

export function registerDeviceCommands(program: Command, env: CommandEnv): void {
  program
    .command('flash')
    .description('flash a bundle directory (from espctl download) or a job (default: the last job) onto a board')
    .argument('[bundle]', 'flash bundle directory (manifest.json + files)')
    .requiredOption('-p, --port <port>', 'serial port, e.g. /dev/ttyUSB0')
    .option('-b, --baud <baud>', 'baud rate', int, 460800)
    .option('--job <job>', 'flash this job instead of a local bundle')
    .option('--erase', 'rewrite every sector instead of only the changed ones')
    .option('--timeout <sec>', 'give up after this many seconds', int, 180)
    .action(
      async (
        bundleDir: string | undefined,
        o: { port: string; baud: number; job?: string; erase?: boolean; timeout: number },
      ) => {
        const ctx = await cliContext(env.deps);
        if (!ctx.serial)
          throw new EspctlError('serial_unavailable', 'Serial flashing is not available in this espctl build.');
        const out = env.out();
        try {
          const { bundle, manifest } = bundleDir
            ? await bundleFromDir(env.dir(bundleDir))
            : await onJob(ctx, await jobIdOrLast(o.job, env.deps.env), async (s) =>
                bundleFromJob((await s.call('artifacts.list', {})).artifacts, (f) => s.getFile(f)),
              );
          const jobId = bundleDir ? manifest.job_id : await jobIdOrLast(o.job, env.deps.env);
          const publicJwk = await signingKey(ctx, { machine_id: manifest.machine_id, job_id: jobId });
          const r = await ctx.serial.flash({
            port: o.port,
            baud: o.baud,
            erase: !!o.erase,
            bundle,
            publicJwk,
            timeoutMs: o.timeout * 1000,
            onProgress: (w, t) => out.progress('flash', w, t),
          });
          out.result(
            r,
            () => `Flashed ${r.bytes_written} bytes to ${r.chip} on ${o.port} (verified; signature ${r.signature}).`,
          );
        } finally {
          await ctx.tasks.closeAll();
        }
      },
    );

  program
    .command('monitor')
    .description('print what the board writes on the serial port')
    .requiredOption('-p, --port <port>', 'serial port')
    .option('-b, --baud <baud>', 'baud rate', int, 115200)
    .option('-d, --duration <sec>', 'stop after this many seconds', int, 10)
    .option('--max-bytes <n>', 'stop after this many bytes', int, 1024 * 1024)
    .action(async (o: { port: string; baud: number; duration: number; maxBytes: number }) => {
      const ctx = await cliContext(env.deps);
      if (!ctx.serial)
        throw new EspctlError('serial_unavailable', 'Serial monitoring is not available in this espctl build.');
      const r = await ctx.serial.monitor({
        port: o.port,
        baud: o.baud,
        durationMs: o.duration * 1000,
        maxBytes: o.maxBytes,
      });
      env.out().result(r, () => r.text);
    });
}
