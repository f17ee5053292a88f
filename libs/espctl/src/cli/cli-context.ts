import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EspctlError } from '../errors.js';
import type { EspctlContext } from '../mcp/context.js';
import { createStdioContext } from '../mcp/stdio-context.js';
import type { SerialTools } from '../flash/serial-tools.js';
import type { RemoteConnector } from '../remote/remote-connector.js';
import { resolveCredentials } from './credentials.js';

/** The parts the CLI can swap (tests pass fakes; main passes the real ones). */
export interface CliDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  connectRemote?: (baseUrl: string, key: string) => RemoteConnector;
  serial?: () => Promise<SerialTools>;
}

/** Absolute path of bin/espctl.js, for install snippets. */
export function espctlBinPath(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/espctl.js');
}

/** A context like the stdio server's, with credentials from the environment or `espctl login`. */
export async function cliContext(deps: CliDeps): Promise<EspctlContext> {
  const creds = await resolveCredentials(deps.env);
  const env = creds ? { ...deps.env, CONTROL_BASE_URL: creds.server, MCP_AUTH_SECRET: creds.token } : deps.env;
  return createStdioContext({
    env,
    cwd: deps.cwd,
    espctlPath: espctlBinPath(),
    connectRemote: deps.connectRemote,
    serial: deps.serial ? await deps.serial() : undefined,
  });
}

export function requireRemoteCli(ctx: EspctlContext): RemoteConnector {
  if (ctx.mode !== 'remote' || !ctx.remote) {
    throw new EspctlError(
      'not_logged_in',
      `Not connected to a control API (${ctx.modeReason}); run espctl login --server <url> --token <key>, or use --local.`,
    );
  }
  return ctx.remote;
}
