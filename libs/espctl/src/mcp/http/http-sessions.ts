import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { EspctlContext } from '../context.js';
import { createEspctlMcpServer } from '../server.js';
import { MemoryEventStore } from './event-store.js';

/** Who an HTTP MCP session acts for; `key` stays in this process's memory only. */
export interface McpPrincipal {
  userId: string;
  key: string;
}

export interface McpHttpOptions {
  /** A fresh context for a new session of this user (remote mode, inline projects, dashboard hand-off). */
  createContext: (principal: McpPrincipal, req: IncomingMessage) => EspctlContext;
  /** Sessions per user; the oldest is closed beyond this. */
  maxSessionsPerUser?: number;
  /** Sessions idle this long are closed. */
  idleMs?: number;
}

interface Session {
  id: string;
  userId: string;
  kind: 'streamable' | 'sse';
  transport: StreamableHTTPServerTransport | SSEServerTransport;
  server: McpServer;
  ctx: EspctlContext;
  lastUsed: number;
}

const rpcError = (res: ServerResponse, status: number, message: string): void => {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
};

/**
 * The MCP sessions of an HTTP server: Streamable HTTP (`/mcp`, resumable) and legacy SSE (`/sse` + `/messages`).
 * Each session has its own espctl server and context, bound to the user who opened it; another user's key
 * never reaches it.
 */
export class McpHttpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: McpHttpOptions) {
    this.timer = setInterval(() => this.sweep(), 30_000);
    this.timer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  private get(id: string | undefined, userId: string): Session | undefined {
    const s = id ? this.sessions.get(id) : undefined;
    if (!s || s.userId !== userId) return undefined;
    s.lastUsed = Date.now();
    return s;
  }

  private async open(
    principal: McpPrincipal,
    req: IncomingMessage,
    kind: Session['kind'],
    transport: Session['transport'],
  ): Promise<Session> {
    const ctx = this.opts.createContext(principal, req);
    const server = createEspctlMcpServer(ctx);
    const s: Session = { id: '', userId: principal.userId, kind, transport, server, ctx, lastUsed: Date.now() };
    transport.onclose = () => void this.drop(s);
    await server.connect(transport);
    return s;
  }

  private register(s: Session, id: string): void {
    s.id = id;
    this.sessions.set(id, s);
    const mine = [...this.sessions.values()]
      .filter((x) => x.userId === s.userId)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    const max = this.opts.maxSessionsPerUser ?? 8;
    for (const old of mine.slice(0, Math.max(0, mine.length - max))) void this.close(old);
  }

  private async drop(s: Session): Promise<void> {
    if (s.id && this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    await s.ctx.tasks.closeAll();
  }

  private async close(s: Session): Promise<void> {
    await this.drop(s);
    await s.server.close().catch(() => undefined);
  }

  private sweep(): void {
    const idle = this.opts.idleMs ?? 30 * 60_000;
    const now = Date.now();
    for (const s of this.sessions.values()) if (now - s.lastUsed > idle) void this.close(s);
  }

  /** `/mcp`: POST (initialize creates a session), GET (server stream, resumable), DELETE (end session). */
  async handleStreamable(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    principal: McpPrincipal,
  ): Promise<void> {
    const sid = req.headers['mcp-session-id'];
    const id = Array.isArray(sid) ? sid[0] : sid;
    const existing = this.get(id, principal.userId);
    if (existing) {
      if (existing.kind !== 'streamable') return rpcError(res, 400, 'This session belongs to the SSE transport.');
      await (existing.transport as StreamableHTTPServerTransport).handleRequest(req, res, body);
      return;
    }
    if (id) return rpcError(res, 404, 'Unknown or expired MCP session; initialize a new one.');
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return rpcError(res, 400, 'No MCP session: send an initialize request first (without mcp-session-id).');
    }
    const pending: { session?: Session } = {};
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new MemoryEventStore(),
      onsessioninitialized: (newId) => pending.session && this.register(pending.session, newId),
    });
    pending.session = await this.open(principal, req, 'streamable', transport);
    await transport.handleRequest(req, res, body);
  }

  /** `GET /sse`: opens a legacy SSE session; its POST endpoint is `messagesPath?sessionId=…`. */
  async handleSseStream(
    req: IncomingMessage,
    res: ServerResponse,
    principal: McpPrincipal,
    messagesPath: string,
  ): Promise<void> {
    const transport = new SSEServerTransport(messagesPath, res);
    const s = await this.open(principal, req, 'sse', transport);
    this.register(s, transport.sessionId);
    res.on('close', () => void this.close(s));
  }

  /** `POST /messages?sessionId=…`. */
  async handleSseMessage(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    principal: McpPrincipal,
    sessionId: string | undefined,
  ): Promise<void> {
    const s = this.get(sessionId, principal.userId);
    if (!s || s.kind !== 'sse') return rpcError(res, 404, 'Unknown or expired SSE session; reconnect to /sse.');
    await (s.transport as SSEServerTransport).handlePostMessage(req, res, body);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.sessions.values()].map((s) => this.close(s)));
  }
}
