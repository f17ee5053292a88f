import { EspctlError } from '../../errors.js';
import type { RemoteConnector } from '../../remote/remote-connector.js';
import type { EspctlContext } from '../context.js';

export function requireRemote(ctx: EspctlContext): RemoteConnector {
  if (ctx.mode !== 'remote' || !ctx.remote) {
    throw new EspctlError(
      'plan_only',
      `espctl runs in plan-only mode (${ctx.modeReason}) so nothing is built or fetched; set CONTROL_BASE_URL and MCP_AUTH_SECRET to use remote builds.`,
    );
  }
  return ctx.remote;
}
