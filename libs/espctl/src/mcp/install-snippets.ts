/** How to add espctl to each MCP client, filled with this machine's espctl path or the API's HTTP URL. */
export const INSTALL_CLIENTS = [
  'claude-code',
  'claude-desktop',
  'cursor',
  'vscode',
  'codex',
  'opencode',
  'windsurf',
  'zed',
] as const;
export type InstallClient = (typeof INSTALL_CLIENTS)[number];

export interface InstallTarget {
  /** Absolute path of the espctl executable (stdio). */
  espctlPath?: string;
  /** The API's MCP URL, e.g. https://aegis.example.com/mcp (HTTP). */
  httpUrl?: string;
}

const KEY = '<your Aegis API key>';

export interface Snippet {
  client: InstallClient;
  title: string;
  file: string;
  language: 'json' | 'toml' | 'shell';
  text: string;
}

const json = (v: unknown): string => JSON.stringify(v, null, 2);

export function installSnippet(client: InstallClient, t: InstallTarget): Snippet {
  const cmd = t.espctlPath ?? 'espctl';
  const http = t.httpUrl;
  const stdio = { command: cmd, args: ['mcp', 'serve'] };
  const bearer = { Authorization: `Bearer ${KEY}` };
  switch (client) {
    case 'claude-code':
      return {
        client,
        title: 'Claude Code',
        file: '(command line)',
        language: 'shell',
        text: http
          ? `claude mcp add --transport http espctl ${http} --header "Authorization: Bearer ${KEY}"`
          : `claude mcp add espctl -- ${cmd} mcp serve`,
      };
    case 'claude-desktop':
      return {
        client,
        title: 'Claude Desktop',
        file: 'claude_desktop_config.json',
        language: 'json',
        text: json({
          mcpServers: {
            espctl: http
              ? { command: 'npx', args: ['-y', 'mcp-remote', http, '--header', `Authorization: Bearer ${KEY}`] }
              : stdio,
          },
        }),
      };
    case 'cursor':
      return {
        client,
        title: 'Cursor',
        file: '.cursor/mcp.json',
        language: 'json',
        text: json({ mcpServers: { espctl: http ? { url: http, headers: bearer } : stdio } }),
      };
    case 'vscode':
      return {
        client,
        title: 'VS Code',
        file: '.vscode/mcp.json',
        language: 'json',
        text: json({
          servers: { espctl: http ? { type: 'http', url: http, headers: bearer } : { type: 'stdio', ...stdio } },
        }),
      };
    case 'codex':
      return {
        client,
        title: 'Codex CLI',
        file: '~/.codex/config.toml',
        language: 'toml',
        text: http
          ? `[mcp_servers.espctl]\nurl = "${http}"\nbearer_token_env_var = "AEGIS_API_KEY"\n`
          : `[mcp_servers.espctl]\ncommand = "${cmd}"\nargs = ["mcp", "serve"]\n`,
      };
    case 'opencode':
      return {
        client,
        title: 'OpenCode',
        file: 'opencode.json',
        language: 'json',
        text: json({
          $schema: 'https://opencode.ai/config.json',
          mcp: {
            espctl: http
              ? { type: 'remote', url: http, headers: bearer, enabled: true }
              : { type: 'local', command: [cmd, 'mcp', 'serve'], enabled: true },
          },
        }),
      };
    case 'windsurf':
      return {
        client,
        title: 'Windsurf',
        file: '~/.codeium/windsurf/mcp_config.json',
        language: 'json',
        text: json({ mcpServers: { espctl: http ? { serverUrl: http, headers: bearer } : stdio } }),
      };
    case 'zed':
      return {
        client,
        title: 'Zed',
        file: '~/.config/zed/settings.json',
        language: 'json',
        text: json({
          context_servers: {
            espctl: http ? { url: http, headers: bearer } : { source: 'custom', command: cmd, args: ['mcp', 'serve'] },
          },
        }),
      };
  }
}
