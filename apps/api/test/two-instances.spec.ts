import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMachineToken, createUser, dropSchema, freshSchema, startApi, type StartedApi } from '@aegis/testkit';
import { AgentPollResponse, GrantResponse, JobView } from '@aegis/protocol';
import { ANSWER, grantBody, heartbeat, OFFER, PG_URL, req, sse } from './http.js';

describe('two API instances on one PostgreSQL', () => {
  let a: StartedApi;
  let b: StartedApi;
  const schema = freshSchema();
  beforeAll(async () => {
    a = await startApi({ databaseUrl: PG_URL, schema });
    // Same schema and the same admin: B shares all state with A.
    b = await startApi({ databaseUrl: PG_URL, schema, adminKey: a.adminKey });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropSchema(PG_URL, schema);
  });

  it('a grant on A is claimed via B, and the SSE stream on A gets the answer posted via B', async () => {
    const user = await createUser(a.url, a.adminKey);
    const m = await createMachineToken(b.url, b.adminKey, 'shared');
    expect((await req(b.url, 'POST', '/agents/register', m.token, heartbeat({ name: 'shared' }))).status).toBe(200);

    // B's long-poll is waiting before the job exists; A stores the offer; B's watcher finds it.
    const polling = req(b.url, 'GET', '/agents/jobs?wait=20', m.token);
    const g = await req(a.url, 'POST', '/grant/request', user, grantBody());
    expect(g.status).toBe(201);
    const { job_id } = GrantResponse.parse(g.body);
    const stream = sse(`${a.url}/signaling/${job_id}/events`, user, (ev) => ev.some((e) => e.event === 'answer'), {
      timeoutMs: 20_000,
    });
    expect((await req(a.url, 'POST', `/signaling/${job_id}/offer`, user, OFFER)).status).toBe(202);
    const polled = AgentPollResponse.parse((await polling).body);
    expect(polled.jobs.map((j) => j.job_id)).toEqual([job_id]);

    expect((await req(b.url, 'POST', `/agents/jobs/${job_id}/claim`, m.token)).status).toBe(200);
    expect((await req(a.url, 'POST', `/agents/jobs/${job_id}/claim`, m.token)).status).toBe(409);
    expect((await req(b.url, 'POST', `/agents/jobs/${job_id}/answer`, m.token, ANSWER)).status).toBe(202);

    const events = (await stream).events;
    // A was woken by PostgreSQL NOTIFY from B (not only by its own polling).
    const metricsA = await fetch(`${a.url}/metrics`).then((r) => r.text());
    expect(metricsA).toMatch(/aegis_listen_wakeups_total\{topic="signal"\} [1-9]/);
    const metricsB = await fetch(`${b.url}/metrics`).then((r) => r.text());
    expect(metricsB).toMatch(/aegis_listen_wakeups_total\{topic="jobs"\} [1-9]/);
    // Its place (when announced before the claim; never after `assigned`), then assigned and answered.
    const q = events[0]!.event === 'state' ? 1 : 0;
    if (q) expect(events[0]!.data).toMatchObject({ state: 'pending', queue: { position: 1 } });
    expect(events.slice(q).map((e) => e.event)).toEqual(['assigned', 'state', 'answer']);
    expect(events[q + 2]!.data).toMatchObject({ type: 'answer', job_id, sdp: ANSWER.sdp });

    // Both instances see one state, and both publish the same signing keys.
    await req(b.url, 'POST', `/agents/jobs/${job_id}/state`, m.token, { state: 'running' });
    expect(JobView.parse((await req(a.url, 'GET', `/jobs/${job_id}`, user)).body).state).toBe('running');
    const ka = (await req(a.url, 'GET', '/.well-known/jwks.json')).body;
    const kb = (await req(b.url, 'GET', '/.well-known/jwks.json')).body;
    expect(ka).toEqual(kb);
  });
});

describe('the grant rate limit is shared by two API instances on one PostgreSQL', () => {
  let a: StartedApi;
  let b: StartedApi;
  const schema = freshSchema();
  const env = { GRANT_RATE_PER_MIN: '4', USER_MAX_CONCURRENT_JOBS: '100' };
  beforeAll(async () => {
    a = await startApi({ databaseUrl: PG_URL, schema, env });
    b = await startApi({ databaseUrl: PG_URL, schema, adminKey: a.adminKey, env });
    const m = await createMachineToken(a.url, a.adminKey, 'rate');
    expect((await req(a.url, 'POST', '/agents/register', m.token, heartbeat({ name: 'rate' }))).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropSchema(PG_URL, schema);
  });

  it('counts requests on either instance, granted or refused, against one limit per user', async () => {
    const user = await createUser(a.url, a.adminKey);
    // Four requests (two granted, two refused for want of a machine) spread over A and B use up the limit of 4.
    const first = [
      await req(a.url, 'POST', '/grant/request', user, grantBody()),
      await req(b.url, 'POST', '/grant/request', user, grantBody({ idf_version: '0.0' })),
      await req(b.url, 'POST', '/grant/request', user, grantBody()),
      await req(a.url, 'POST', '/grant/request', user, grantBody({ idf_version: '0.0' })),
    ];
    expect(first.map((r) => r.status)).toEqual([201, 503, 201, 503]);
    // Each instance alone has seen only two; per-instance limits would still allow these.
    for (const api of [a, b]) {
      const r = await req(api.url, 'POST', '/grant/request', user, grantBody());
      expect(r.status).toBe(429);
      expect(r.body).toMatchObject({ code: 'rate_limited' });
      const retry = Number(r.headers.get('retry-after'));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(15); // one token comes back every 60 s / 4
    }
    // Another user has their own limit.
    const other = await createUser(b.url, b.adminKey);
    expect((await req(b.url, 'POST', '/grant/request', other, grantBody())).status).toBe(201);
  });

  it('holds under concurrent requests to both instances', async () => {
    const user = await createUser(a.url, a.adminKey);
    const all = await Promise.all(
      Array.from({ length: 12 }, (_, i) => req((i % 2 ? a : b).url, 'POST', '/grant/request', user, grantBody())),
    );
    const statuses = all.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
  });
});

describe('a build is a durable handle: build.status by job id from any MCP session and API instance', () => {
  let a: StartedApi;
  let b: StartedApi;
  const schema = freshSchema();
  const sessions: Client[] = [];
  beforeAll(async () => {
    a = await startApi({ databaseUrl: PG_URL, schema });
    b = await startApi({ databaseUrl: PG_URL, schema, adminKey: a.adminKey });
  });
  afterAll(async () => {
    for (const c of sessions) await c.close().catch(() => undefined);
    await Promise.all([a?.stop(), b?.stop()]);
    await dropSchema(PG_URL, schema);
  });

  /** A new MCP session (Streamable HTTP) on one instance, and build.status through it. */
  async function statusVia(api: StartedApi, key: string, jobId: string) {
    const c = new Client({ name: 'durable-handle-test', version: '1' });
    await c.connect(
      new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    sessions.push(c);
    const r = await c.callTool({ name: 'build.status', arguments: { task_id: jobId } });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    return r.structuredContent as Record<string, unknown>;
  }

  it('queued on A, read from a fresh session on B; finished, read after A restarted', async () => {
    const user = await createUser(a.url, a.adminKey);
    const m = await createMachineToken(a.url, a.adminKey, 'durable');
    expect((await req(a.url, 'POST', '/agents/register', m.token, heartbeat({ name: 'durable' }))).status).toBe(200);
    const { job_id } = GrantResponse.parse((await req(a.url, 'POST', '/grant/request', user, grantBody())).body);
    expect((await req(a.url, 'POST', `/signaling/${job_id}/offer`, user, OFFER)).status).toBe(202);

    expect(await statusVia(b, user, job_id)).toMatchObject({ job_id, status: 'pending', queue: { position: 1 } });

    expect((await req(b.url, 'POST', `/agents/jobs/${job_id}/claim`, m.token)).status).toBe(200);
    await req(b.url, 'POST', `/agents/jobs/${job_id}/state`, m.token, { state: 'running' });
    await req(b.url, 'POST', `/agents/jobs/${job_id}/state`, m.token, { state: 'succeeded', exit_code: 0 });

    await a.stop();
    a = await startApi({ databaseUrl: PG_URL, schema, adminKey: b.adminKey });
    const after = await statusVia(a, user, job_id);
    expect(after).toMatchObject({ job_id, status: 'succeeded', exit_code: 0 });
    expect(after.queue).toBeUndefined();
    // Another user's job is not theirs to read.
    const other = await createUser(b.url, b.adminKey);
    const r = await (async () => {
      const s = new Client({ name: 'durable-handle-test', version: '1' });
      await s.connect(
        new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${other}` } },
        }),
      );
      sessions.push(s);
      return s.callTool({ name: 'build.status', arguments: { task_id: job_id } });
    })();
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/No job/);
  });
});
