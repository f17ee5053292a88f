import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Events kept per MCP session for resumption (Last-Event-ID); older ones are dropped. */
export const EVENT_STORE_MAX = 2000;

/**
 * In-memory event store of one MCP session, so a client that lost its SSE stream resumes without losing
 * messages. Event ids are `<streamId>_<n>`; memory only, like everything else of a remote session.
 */
export class MemoryEventStore implements EventStore {
  private readonly events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];
  private n = 0;

  constructor(private readonly max = EVENT_STORE_MAX) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}_${++this.n}`;
    this.events.push({ id, streamId, message });
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.find((e) => e.id === eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const i = this.events.findIndex((e) => e.id === lastEventId);
    if (i < 0) return '';
    const streamId = this.events[i].streamId;
    for (const e of this.events.slice(i + 1)) if (e.streamId === streamId) await send(e.id, e.message);
    return streamId;
  }
}
