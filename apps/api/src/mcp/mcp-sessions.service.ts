import type { IncomingMessage } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { createHttpContext, McpHttpSessions, rtcConfigFromEnv, type McpPrincipal } from '@aegis/espctl';
import { Issuer } from '../config.js';
import type { UserPrincipal } from '../auth/principal.js';
import { FlashHandoffService } from '../flash-handoff/flash-handoff.service.js';

/** This process's own REST API on loopback: the session's WebRTC client asks it for grants like any client. */
function selfUrl(req: IncomingMessage): string {
  const a = req.socket.localAddress ?? '127.0.0.1';
  const host = a.startsWith('::ffff:') ? a.slice(7) : a;
  return `http://${host.includes(':') ? `[${host}]` : host}:${req.socket.localPort}`;
}

/** The espctl MCP sessions of this API instance (memory only: keys, logs and firmware never reach the DB). */
@Injectable()
export class McpSessionsService implements OnModuleDestroy {
  readonly sessions: McpHttpSessions;

  constructor(
    private readonly issuer: Issuer,
    private readonly handoff: FlashHandoffService,
  ) {
    const rtcConfig = rtcConfigFromEnv(process.env);
    this.sessions = new McpHttpSessions({
      createContext: (principal: McpPrincipal, req: IncomingMessage) => {
        const user = (req as IncomingMessage & { principal?: UserPrincipal }).principal!;
        return createHttpContext({
          principal,
          selfUrl: selfUrl(req),
          publicUrl: this.issuer.get(),
          flashHandoff: this.handoff.forUser(user),
          rtcConfig,
        });
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.sessions.closeAll();
  }
}
