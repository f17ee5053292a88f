import type { EspctlMode } from './context.js';

/** Remote only when both the API URL and the key are set; plan-only otherwise (and then no network call). */
export function detectMode(env: NodeJS.ProcessEnv): { mode: EspctlMode; reason: string } {
  const url = env.CONTROL_BASE_URL?.trim();
  const key = env.MCP_AUTH_SECRET?.trim();
  if (url && key)
    return { mode: 'remote', reason: `CONTROL_BASE_URL and MCP_AUTH_SECRET are set (${new URL(url).origin})` };
  const missing = [!url && 'CONTROL_BASE_URL', !key && 'MCP_AUTH_SECRET'].filter(Boolean).join(' and ');
  return { mode: 'plan-only', reason: `${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set` };
}
