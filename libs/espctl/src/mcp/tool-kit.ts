import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { toErrorBody } from '../errors.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolDef<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  aliases?: string[];
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint'>> &
    Pick<ToolAnnotations, 'openWorldHint'>;
}

/**
 * Register a tool (and its aliases) whose handler returns the structured result or throws an EspctlError.
 * Errors become `isError` results with "code: message", so the agent sees a sentence it can act on.
 */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  server: McpServer,
  def: ToolDef<I, O>,
  handler: (args: z.infer<z.ZodObject<I>>, extra: ToolExtra) => Promise<z.infer<z.ZodObject<O>>>,
): void {
  const names = [def.name, ...(def.aliases ?? [])];
  for (const name of names) {
    const description = name === def.name ? def.description : `Alias of \`${def.name}\`. ${def.description}`;
    // The SDK's generic signature is too deep for tsc with our shapes; the schema still validates at runtime.
    const register = server.registerTool.bind(server) as unknown as (
      n: string,
      c: Record<string, unknown>,
      cb: (args: unknown, extra: ToolExtra) => Promise<unknown>,
    ) => void;
    register(
      name,
      {
        title: def.title,
        description,
        // Strict: a misspelt argument is refused instead of silently ignored.
        inputSchema: z.object(def.input).strict(),
        outputSchema: def.output,
        annotations: { title: def.title, openWorldHint: false, ...def.annotations },
      },
      async (args, extra) => {
        try {
          const out = await handler(args as z.infer<z.ZodObject<I>>, extra);
          return { content: [{ type: 'text', text: JSON.stringify(out, null, 2) }], structuredContent: out };
        } catch (err) {
          const body = toErrorBody(err);
          return { isError: true, content: [{ type: 'text', text: `${body.code}: ${body.message}` }] };
        }
      },
    );
  }
}

/** Send a progress notification if the caller asked for them (it passed a progressToken). */
export async function reportProgress(
  extra: ToolExtra,
  progress: number,
  total: number,
  message: string,
): Promise<void> {
  const token = extra._meta?.progressToken;
  if (token === undefined) return;
  await extra.sendNotification({
    method: 'notifications/progress',
    params: { progressToken: token, progress, total, message },
  });
}
