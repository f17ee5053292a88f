import { All, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { bearer } from '../auth/secrets.js';
import { McpSessionsService } from './mcp-sessions.service.js';

/**
 * espctl's MCP server over HTTP: Streamable HTTP at /mcp (sessions, resumable) and legacy SSE at /sse + /messages.
 * The auth guard has checked the user key; each session acts for that user.
 */
@Controller()
@Auth('user')
export class McpController {
  constructor(private readonly mcp: McpSessionsService) {}

  private principal(u: UserPrincipal, req: Request) {
    return { userId: u.userId, key: bearer(req.headers.authorization)! };
  }

  @All('mcp')
  async streamable(@CurrentUser() u: UserPrincipal, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.mcp.sessions.handleStreamable(req, res, req.body, this.principal(u, req));
  }

  @Get('sse')
  async sse(@CurrentUser() u: UserPrincipal, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.mcp.sessions.handleSseStream(req, res, this.principal(u, req), '/messages');
  }

  @Post('messages')
  async messages(
    @CurrentUser() u: UserPrincipal,
    @Req() req: Request,
    @Res() res: Response,
    @Query('sessionId') sessionId: string | undefined,
  ): Promise<void> {
    await this.mcp.sessions.handleSseMessage(req, res, req.body, this.principal(u, req), sessionId);
  }
}
