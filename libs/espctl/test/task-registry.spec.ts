import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describe, expect, it } from 'vitest';
import type { EspctlContext } from '../src/mcp/context.js';
import { registerBuildTools } from '../src/mcp/tools/build-tools.js';
import type { RemoteConnector } from '../src/remote/remote-connector.js';
import { DEFAULT_MAX_KEPT_ARCHIVES, TaskRegistry } from '../src/tasks/task-registry.js';
import { call, textOf } from './mcp-helpers.js';

const archive = (n: number) => ({ tar: new Uint8Array(1024).fill(n), options: { target: 'esp32c3' as const } });

describe('TaskRegistry keeps at most N uploaded project archives (LRU)', () => {
  it('keeps the 8 most recent by default and marks the older ones evicted', () => {
    const reg = new TaskRegistry();
    expect(reg.maxKeptArchives).toBe(DEFAULT_MAX_KEPT_ARCHIVES);
    expect(DEFAULT_MAX_KEPT_ARCHIVES).toBe(8);
    const ids = Array.from({ length: 11 }, (_, i) => {
      const t = reg.create();
      reg.keepSource(t.id, archive(i));
      return t.id;
    });
    const held = ids.filter((id) => reg.get(id).source);
    expect(held).toEqual(ids.slice(3));
    for (const id of ids.slice(0, 3)) {
      expect(reg.get(id).sourceEvicted).toBe(true);
      expect(reg.useSource(id)).toBeUndefined();
    }
    expect(reg.useSource(ids[10])?.tar[0]).toBe(10);
    // The task itself (state, logs) stays; only the archive is dropped.
    expect(reg.list()).toHaveLength(11);
  });

  it('using an archive makes it recent, so the least recently USED one goes first', () => {
    const reg = new TaskRegistry(2);
    const [a, b, c] = [reg.create(), reg.create(), reg.create()];
    reg.keepSource(a.id, archive(1));
    reg.keepSource(b.id, archive(2));
    expect(reg.useSource(a.id)?.tar[0]).toBe(1);
    reg.keepSource(c.id, archive(3));
    expect(reg.get(b.id).source).toBeUndefined();
    expect(reg.get(b.id).sourceEvicted).toBe(true);
    expect(reg.get(a.id).source?.tar[0]).toBe(1);
    expect(reg.get(c.id).source?.tar[0]).toBe(3);
  });

  it('a task that never uploaded is not "evicted", and keeping it again clears the flag', () => {
    const reg = new TaskRegistry(1);
    const [a, b] = [reg.create(), reg.create()];
    expect(reg.useSource(a.id)).toBeUndefined();
    expect(reg.get(a.id).sourceEvicted).toBeUndefined();
    reg.keepSource(a.id, archive(1));
    reg.keepSource(b.id, archive(2));
    expect(reg.get(a.id).sourceEvicted).toBe(true);
    reg.keepSource(a.id, archive(4));
    expect(reg.get(a.id).sourceEvicted).toBe(false);
    expect(reg.get(b.id).sourceEvicted).toBe(true);
    // Re-keeping the same task does not count it twice.
    reg.keepSource(a.id, archive(5));
    expect(reg.get(a.id).source?.tar[0]).toBe(5);
  });
});

describe('set_target.run on a task whose archive was evicted', () => {
  it('answers project_unknown and says to build again, starting nothing', async () => {
    const tasks = new TaskRegistry(1);
    const old = tasks.create();
    tasks.keepSource(old.id, archive(1));
    tasks.update(old.id, { state: 'succeeded' });
    const newer = tasks.create();
    tasks.keepSource(newer.id, archive(2));
    let started = 0;
    const remote = {
      start: async () => {
        started++;
        throw new Error('must not start a build');
      },
    } as unknown as RemoteConnector;
    const ctx = { mode: 'remote', modeReason: 'test', remote, tasks } as unknown as EspctlContext;
    const server = new McpServer({ name: 'test', version: '0' });
    registerBuildTools(server, ctx);
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'test', version: '0' });
    await Promise.all([server.connect(a), client.connect(b)]);
    try {
      const r = await call(client, 'set_target.run', { task_id: old.id, target: 'esp32c6' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /^project_unknown: .*dropped from memory \(only the 1 most recent are kept\); run build again/,
      );
      expect(started).toBe(0);
      expect(tasks.list()).toHaveLength(2);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
