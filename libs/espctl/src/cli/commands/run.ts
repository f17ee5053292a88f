import type { Command } from 'commander';
import {
  EMULATOR_RUN_DEFAULT_SECONDS,
  EMULATOR_RUN_MAX_SECONDS,
  type EmulatorStopReason,
} from '../../emulator/emulator-run.js';
import { emulatorRuns, formatFrames, type EmulatorTaskResult } from '../../emulator/emulator-runs.js';
import { EspctlError } from '../../errors.js';
import { taskFor } from '../../mcp/tools/task-lookup.js';
import { cliContext, requireRemoteCli } from '../cli-context.js';
import { ExitCode } from '../exit-codes.js';
import { jobIdOrLast } from '../last-job.js';
import { setExitCode, type CommandEnv } from '../program.js';

const intIn =
  (min: number, max: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new EspctlError('invalid_input', `"${v}" is not a whole number from ${min} to ${max}.`);
    return n;
  };

/**
 * The exit code of an emulator run: 0 when it did what was asked (the `--until` text appeared; without `--until`,
 * it ran until the time limit or ended by itself without a panic or a reboot loop); distinct codes otherwise, so a
 * CI step or an agent can tell a timeout from a crash.
 */
export function emulatorExitCode(reason: EmulatorStopReason, until: string | undefined): number {
  switch (reason) {
    case 'pattern':
      return ExitCode.Ok;
    case 'panic':
      return ExitCode.EmulatorPanic;
    case 'reboot_loop':
      return ExitCode.EmulatorRebootLoop;
    case 'stopped':
      return ExitCode.Interrupted;
    case 'time_limit':
    case 'exited':
      return until === undefined ? ExitCode.Ok : ExitCode.EmulatorTimeout;
  }
}

function summary(r: EmulatorTaskResult, until: string | undefined): string {
  const lines: string[] = [];
  const after = `after ${r.seconds} s`;
  if (r.stopped_because === 'pattern') lines.push(`espctl: "${r.pattern}" seen ${after}.`);
  else if (r.stopped_because === 'panic') {
    lines.push(`espctl: the firmware panicked ${after}: ${r.panic?.headline ?? 'Guru Meditation Error'}`);
    const frames = (r.frames ?? []).filter((f) => f.function !== null);
    if (frames.length) lines.push("Backtrace (decoded with the build's ELF):", ...formatFrames(frames));
    else if (r.panic?.addresses.length) lines.push(`Addresses: ${r.panic.addresses.join(' ')}`);
  } else if (r.stopped_because === 'reboot_loop')
    lines.push(`espctl: the firmware keeps rebooting (${r.reboots} restarts${until ? ` without "${until}"` : ''}).`);
  else if (r.stopped_because === 'stopped') lines.push(`espctl: stopped ${after}.`);
  else {
    const how = r.stopped_because === 'time_limit' ? 'the time limit was reached' : 'the emulator ended';
    lines.push(`espctl: ${how} ${after}${until ? ` without "${until}"` : ''}.`);
  }
  return lines.join('\n');
}

export function registerRunCommands(program: Command, env: CommandEnv): void {
  program
    .command('run')
    .description(
      "run a build's firmware: --emulator boots it in QEMU on the build machine and prints its serial output",
    )
    .option('--emulator', 'run in the emulator on the build machine (esp32c3, esp32)')
    .option('--until <text>', 'stop with exit code 0 as soon as the firmware prints this text')
    .option(
      '--seconds <n>',
      `stop after this many seconds (1-${EMULATOR_RUN_MAX_SECONDS})`,
      intIn(1, EMULATOR_RUN_MAX_SECONDS),
      EMULATOR_RUN_DEFAULT_SECONDS,
    )
    .option('--input <text>', 'type this into the UART once the app started (\\n is a newline)')
    .option('--max-reboots <n>', 'stop after this many restarts without the text (0: never)', intIn(0, 100), 3)
    .option('--job <id>', 'the build to run (default: the last job)')
    .option('--task <id>', 'same as --job')
    .action(
      async (
        o: {
          emulator?: boolean;
          until?: string;
          seconds: number;
          input?: string;
          maxReboots: number;
          job?: string;
          task?: string;
        },
        cmd: Command,
      ) => {
        if (!o.emulator)
          throw new EspctlError(
            'usage',
            'espctl run needs --emulator (a board: espctl flash -p <port>, then espctl monitor -p <port>).',
          );
        if (o.job && o.task && o.job !== o.task) throw new EspctlError('usage', 'Pass --job or --task, not both.');
        const out = env.out();
        const ctx = await cliContext(env.deps);
        const remote = requireRemoteCli(ctx);
        const stop = new AbortController();
        const onSigint = (): void => stop.abort();
        process.once('SIGINT', onSigint);
        try {
          const task = await taskFor(ctx, await jobIdOrLast(o.job ?? o.task, env.deps.env));
          out.info(`Running job ${task.jobId} in the emulator for up to ${o.seconds} s…`);
          const decoder = new TextDecoder();
          let lastByte = 10;
          const r = await emulatorRuns(ctx.tasks).run(remote, task, {
            seconds: o.seconds,
            until: o.until,
            input: o.input?.replace(/\\n/g, '\n'),
            maxReboots: o.maxReboots,
            signal: stop.signal,
            // The serial output as it comes: the raw bytes, or {serial: text} lines with --json.
            onOutput: (b) => {
              if (out.opts.json) out.line('', { serial: decoder.decode(b, { stream: true }) });
              else out.raw(b);
              if (b.length) lastByte = b[b.length - 1];
            },
          });
          if (lastByte !== 10) out.raw(new Uint8Array([10]));
          // The output was streamed already; the JSON result leaves its tail out.
          const { output: _tail, ...rest } = r;
          out.result({ ...rest, exit_code: emulatorExitCode(r.stopped_because, o.until) }, () => summary(r, o.until));
          setExitCode(cmd, emulatorExitCode(r.stopped_because, o.until));
        } finally {
          process.removeListener('SIGINT', onSigint);
          await ctx.tasks.closeAll();
        }
      },
    );
}
