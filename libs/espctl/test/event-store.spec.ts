import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MemoryEventStore } from '../src/mcp/http/event-store.js';

const msg = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { n } });

describe('MemoryEventStore', () => {
  it('replays only the events after the given id on the same stream', async () => {
    const s = new MemoryEventStore();
    const a1 = await s.storeEvent('A', msg(1));
    await s.storeEvent('B', msg(2));
    await s.storeEvent('A', msg(3));
    await s.storeEvent('A', msg(4));
    const got: unknown[] = [];
    const stream = await s.replayEventsAfter(a1, { send: async (_id, m) => void got.push(m) });
    expect(stream).toBe('A');
    expect(got).toEqual([msg(3), msg(4)]);
    expect(await s.getStreamIdForEventId(a1)).toBe('A');
  });

  it('is bounded and answers unknown ids with no replay', async () => {
    const s = new MemoryEventStore(3);
    const first = await s.storeEvent('A', msg(1));
    for (let i = 2; i <= 5; i++) await s.storeEvent('A', msg(i));
    const got: unknown[] = [];
    expect(await s.replayEventsAfter(first, { send: async (_id, m) => void got.push(m) })).toBe('');
    expect(got).toEqual([]);
  });
});
