/** Base URL of the control API, seen from the dashboard's server (never from the browser). */
export function apiBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.AEGIS_API_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}
