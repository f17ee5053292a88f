import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { Target } from '@aegis/protocol';
import { loadProjectConfig } from '../config/project-config.js';
import { DiskProject } from '../config/project-files.js';
import { EspctlError, toErrorBody } from '../errors.js';
import { ESPCTL_VERSION } from '../version.js';
import { ExitCode } from './exit-codes.js';
import { Output } from './output.js';
import type { CliDeps } from './cli-context.js';
import { registerProjectCommands } from './commands/project.js';
import { registerBuildCommands } from './commands/build.js';
import { registerJobCommands } from './commands/jobs.js';
import { registerDeviceCommands } from './commands/device.js';
import { registerSetupCommands } from './commands/setup.js';
import { registerRunCommands } from './commands/run.js';

export interface CommandEnv {
  deps: CliDeps;
  out: () => Output;
  /** Resolve a project directory against the CLI's cwd. */
  dir: (p?: string) => string;
}

export const targetOption = (): Option =>
  new Option('--target <chip>', 'target chip').choices(Target.options as unknown as string[]);

/** Build the commander program; `run` parses argv and returns the exit code (never calls process.exit). */
export function buildProgram(
  deps: CliDeps,
  io?: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream },
): Command {
  const program = new Command('espctl')
    .description('Build ESP32 firmware on Aegis build machines, flash boards, and serve MCP for AI agents.')
    .option('--json', 'machine-readable output; errors on stderr as {"error": {code, message}}', false)
    .option('-q, --quiet', 'print only results and errors', false)
    .showHelpAfterError()
    .exitOverride();
  const out = (): Output => {
    const o = program.opts<{ json: boolean; quiet: boolean }>();
    return new Output({ json: o.json, quiet: o.quiet }, io?.stdout, io?.stderr);
  };
  program.configureOutput({
    writeOut: (s) => (io?.stdout ?? process.stdout).write(s),
    writeErr: (s) => {
      if (!process.argv.includes('--json')) (io?.stderr ?? process.stderr).write(s);
    },
  });
  const env: CommandEnv = { deps, out, dir: (p) => path.resolve(deps.cwd, p ?? '.') };

  registerSetupCommands(program, env);
  registerProjectCommands(program, env);
  registerBuildCommands(program, env);
  registerJobCommands(program, env);
  registerDeviceCommands(program, env);
  registerRunCommands(program, env);

  program
    .command('version')
    .description('print the espctl version')
    .action(() => out().result({ version: ESPCTL_VERSION }, () => `espctl ${ESPCTL_VERSION}`));
  return program;
}

/** Parse and run; map errors to exit codes. */
export async function runCli(
  argv: string[],
  deps: CliDeps,
  io?: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream },
): Promise<number> {
  const program = buildProgram(deps, io);
  const json = argv.includes('--json');
  const out = new Output({ json, quiet: argv.includes('--quiet') || argv.includes('-q') }, io?.stdout, io?.stderr);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return (program as Command & { exitCodeOverride?: number }).exitCodeOverride ?? ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return ExitCode.Ok;
      if (json) out.error(new EspctlError('usage', err.message.replace(/^error: /, '')));
      return ExitCode.Usage;
    }
    return out.error(err);
  }
}

/** Set the exit code of a command that printed its own result but must not exit 0 (e.g. a failed build). */
export function setExitCode(cmd: Command, code: number): void {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  (root as Command & { exitCodeOverride?: number }).exitCodeOverride = code;
}

export async function projectSummary(dir: string): Promise<string> {
  try {
    const c = await loadProjectConfig(new DiskProject(dir));
    return `${c.name ?? 'unnamed'} (${c.target ?? 'no target'})`;
  } catch (err) {
    return toErrorBody(err).message;
  }
}
