/**
 * Which API paths the browser may reach through the dashboard's proxy: the user-facing REST surface only.
 * Machine endpoints (`/agents/…`), admin tooling and MCP stay unreachable from the page.
 */
const ALLOWED = [
  /^me$/,
  /^machines$/,
  /^machines\/keys$/,
  /^jobs$/,
  /^jobs\/[0-9a-f-]{36}$/,
  /^jobs\/[0-9a-f-]{36}\/cancel$/,
  /^grant\/request$/,
  /^signaling\/[0-9a-f-]{36}\/(offer|candidate|events)$/,
  /^flash-requests$/,
  /^flash-requests\/[0-9a-f-]{36}$/,
  /^flash-requests\/[0-9a-f-]{36}\/(confirm|reject|complete)$/,
];

export function isProxyable(segments: readonly string[]): boolean {
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/'))) return false;
  const path = segments.join('/');
  return ALLOWED.some((re) => re.test(path));
}
