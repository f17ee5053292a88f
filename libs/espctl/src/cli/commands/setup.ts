import type { Command } from 'commander';
import { EspctlError } from '../../errors.js';
import { runDoctor } from '../../mcp/tools/doctor.js';
import { loadProjectConfig } from '../../config/project-config.js';
import { DiskProject } from '../../config/project-files.js';
import { serveStdio } from '../../mcp/stdio-server.js';
import { checkBaseUrl, ControlClient } from '../../remote/control-client.js';
import { MeResponse } from '@aegis/protocol';
import { toErrorBody } from '../../errors.js';
import { cliContext, espctlBinPath } from '../cli-context.js';
import { saveCredentials } from '../credentials.js';
import { ExitCode } from '../exit-codes.js';
import { setExitCode, type CommandEnv } from '../program.js';

export function registerSetupCommands(program: Command, env: CommandEnv): void {
  const mcp = program.command('mcp').description('Model Context Protocol server');
  mcp
    .command('serve')
    .description('serve MCP over stdio (remote mode with CONTROL_BASE_URL + MCP_AUTH_SECRET, plan-only otherwise)')
    .action(async () => {
      await serveStdio({
        env: env.deps.env,
        cwd: env.deps.cwd,
        espctlPath: espctlBinPath(),
        connectRemote: env.deps.connectRemote,
        serial: env.deps.serial ? await env.deps.serial() : undefined,
      });
    });

  program
    .command('login')
    .description('save the control API URL and your API key (~/.config/espctl/credentials.json, mode 0600)')
    .option('--token <key>', 'your API key (aegis_u_…); "-" reads it from standard input (default: $ESPCTL_TOKEN)')
    .requiredOption('--server <url>', 'control API base URL, e.g. https://aegis.example.com')
    .option('--no-verify', 'do not check the key with the server')
    .action(async (opts: { token?: string; server: string; verify: boolean }) => {
      // A key on the command line shows in `ps` and shell history; stdin and the environment do not.
      const token = opts.token === '-' ? await readStdinLine() : (opts.token ?? env.deps.env.ESPCTL_TOKEN);
      if (!token)
        throw new EspctlError(
          'usage',
          'No API key given: pipe it in with --token - (e.g. from a password manager) or set ESPCTL_TOKEN.',
        );
      const o = { ...opts, token };
      const base = checkBaseUrl(o.server, env.deps.env).href.replace(/\/$/, '');
      let user: string | undefined;
      if (o.verify) {
        const me = await new ControlClient(base, o.token).json('/me', MeResponse).catch((err: unknown) => {
          const b = toErrorBody(err);
          throw new EspctlError(b.code === 'key_rejected' ? 'key_rejected' : 'control_unreachable', b.message);
        });
        user = me.user.name;
      }
      const file = await saveCredentials({ server: base, token: o.token }, env.deps.env);
      env
        .out()
        .result(
          { server: base, credentials: file, user },
          () => `Logged in to ${base}${user ? ` as ${user}` : ''}; saved ${file}.`,
        );
    });

  program
    .command('doctor')
    .description('check control API, key, clock, project, IDF version and store')
    .option('-C, --project <dir>', 'project directory', '.')
    .action(async (o: { project: string }, cmd: Command) => {
      const ctx = await cliContext(env.deps);
      const project = new DiskProject(env.dir(o.project));
      const r = await runDoctor(ctx, async () => {
        try {
          return { ok: true as const, config: await loadProjectConfig(project), label: project.label };
        } catch (err) {
          return { ok: false as const, error: toErrorBody(err), label: project.label };
        }
      });
      env
        .out()
        .result(r, () =>
          [
            `doctor: ${r.status} (${r.mode} mode)`,
            ...r.checks.map((c) => `  ${c.status.padEnd(7)} ${c.name}: ${c.detail}`),
          ].join('\n'),
        );
      if (r.status === 'error') setExitCode(cmd, ExitCode.Error);
    });
}

/** The first line of standard input, trimmed. */
async function readStdinLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.trim();
}
