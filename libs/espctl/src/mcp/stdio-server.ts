import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createEspctlMcpServer } from './server.js';
import { createStdioContext, type StdioContextOptions } from './stdio-context.js';

/** `espctl mcp serve`: one MCP session over stdin/stdout. Diagnostics go to stderr only. */
export async function serveStdio(opts: StdioContextOptions): Promise<void> {
  const ctx = createStdioContext(opts);
  const server = createEspctlMcpServer(ctx);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  process.stderr.write(`espctl MCP server on stdio, ${ctx.mode} mode: ${ctx.modeReason}\n`);
  process.stdin.on('end', () => void server.close());
  await closed;
  await ctx.tasks.closeAll();
}
