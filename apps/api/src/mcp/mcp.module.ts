import { Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express from 'express';
import { FlashHandoffModule } from '../flash-handoff/flash-handoff.module.js';
import { AuthService } from '../auth/auth.service.js';
import { AuthThrottle } from '../auth/auth-throttle.js';
import { authenticateFirst } from '../auth/guards.js';
import { McpController } from './mcp.controller.js';
import { McpSessionsService } from './mcp-sessions.service.js';

/**
 * MCP requests carry inline projects (up to 8 MiB of files, more as JSON): they get their own JSON body limit.
 * Registered while the app is being created, so it runs before the app-wide 256 kB parser, which then skips
 * the already-parsed body. Every other route keeps the small limit. The user key is checked before either.
 */
export const MCP_JSON_LIMIT = '12mb';

/** Mounts espctl's MCP server (/mcp, /sse, /messages) and the flash hand-off REST endpoints (/flash-requests). */
@Module({ imports: [FlashHandoffModule], controllers: [McpController], providers: [McpSessionsService] })
export class McpModule {
  constructor(adapterHost: HttpAdapterHost, auth: AuthService, throttle: AuthThrottle) {
    const app = adapterHost.httpAdapter?.getInstance?.() as express.Express | undefined;
    // The key is checked before the big parser: without one, a 12 MB body is refused unread.
    app?.use(['/mcp', '/messages', '/sse'], authenticateFirst(auth, throttle));
    app?.use(['/mcp', '/messages'], express.json({ limit: MCP_JSON_LIMIT }));
  }
}
