import { Module } from '@nestjs/common';
import { FlashHandoffModule } from '../flash-handoff/flash-handoff.module.js';
import { McpController } from './mcp.controller.js';
import { McpSessionsService } from './mcp-sessions.service.js';

/** Mounts espctl's MCP server (/mcp, /sse, /messages) and the flash hand-off REST endpoints (/flash-requests). */
@Module({ imports: [FlashHandoffModule], controllers: [McpController], providers: [McpSessionsService] })
export class McpModule {}
