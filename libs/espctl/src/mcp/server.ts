import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { EspctlContext } from './context.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerAnalysisTools } from './tools/analysis-tools.js';
import { registerBuildTools } from './tools/build-tools.js';
import { registerFirmwareTools } from './tools/firmware-tools.js';
import { registerEmulatorTools } from './tools/emulator-tools.js';
import { registerFlashTools } from './tools/flash-tools.js';
import { registerLogTools } from './tools/log-tools.js';
import { registerProjectTools } from './tools/project-tools.js';
import { registerStoreTools } from './tools/store-tools.js';

/** The one espctl MCP server; stdio and the API's HTTP transports each connect one per session. */
export function createEspctlMcpServer(ctx: EspctlContext): McpServer {
  const server = new McpServer(
    { name: 'espctl', title: 'espctl: ESP32 builds and flashing', version: ctx.version },
    {
      capabilities: { logging: {} },
      instructions:
        `espctl builds ESP-IDF firmware on remote build machines and flashes boards. Mode: ${ctx.mode} (${ctx.modeReason}). ` +
        'Read install://overview first. Typical flow: project.create → doctor → build → build.status / logs.tail → emulator.run (no board needed) or firmware.download → flash.run.',
    },
  );
  registerBuildTools(server, ctx);
  registerProjectTools(server, ctx);
  registerStoreTools(server, ctx);
  registerLogTools(server, ctx);
  registerFirmwareTools(server, ctx);
  registerFlashTools(server, ctx);
  registerEmulatorTools(server, ctx);
  registerAnalysisTools(server, ctx);
  registerResources(server, ctx);
  registerPrompts(server);
  return server;
}
