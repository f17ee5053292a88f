import { createMachineToken, createUser, DEFAULT_TEST_DATABASE_URL, startApi, type StartedApi } from '@aegis/testkit';
import type { MachineHeartbeat } from '@aegis/protocol';

export const PG_URL = process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;

export interface Res<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** A tiny HTTP client for tests: JSON in, JSON out, never throws on 4xx/5xx. */
export async function req<T = Record<string, unknown>>(
  url: string,
  method: string,
  route: string,
  key?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Res<T>> {
  const res = await fetch(url + route, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export const FINGERPRINT = {
  algorithm: 'sha-256' as const,
  value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':'),
};
export const OFFER = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
export const ANSWER = { type: 'answer' as const, sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n' };

export const grantBody = (over: Record<string, unknown> = {}) => ({
  peer_fingerprint: FINGERPRINT,
  required_channels: ['espctl', 'firmware'],
  ...over,
});

export const heartbeat = (over: Partial<MachineHeartbeat> = {}): MachineHeartbeat => ({
  v: 1,
  name: 'm1',
  agent_version: 'test',
  capacity: { total_slots: 2, free_slots: 2, cpu_cores: 8, memory_mb: 16384 },
  idf_versions: ['5.3.1'],
  targets: ['esp32', 'esp32c3'],
  running_job_ids: [],
  ...over,
});

export interface World {
  api: StartedApi;
  url: string;
  admin: string;
  user: string;
  other: string;
  machine: { machineId: string; token: string };
}

/** An API with two users and one registered machine. */
export async function world(db: 'sqlite' | 'postgres', env: Record<string, string> = {}): Promise<World> {
  const api = await startApi({ ...(db === 'postgres' ? { databaseUrl: PG_URL } : {}), env });
  const user = await createUser(api.url, api.adminKey, 'user');
  const other = await createUser(api.url, api.adminKey, 'user');
  const machine = await createMachineToken(api.url, api.adminKey, 'm1');
  const r = await req(api.url, 'POST', '/agents/register', machine.token, heartbeat());
  if (r.status !== 200) throw new Error(`register failed: ${JSON.stringify(r.body)}`);
  return { api, url: api.url, admin: api.adminKey, user, other, machine };
}

/** Read SSE events until `until` returns true or the timeout passes. */
export async function sse(
  url: string,
  key: string,
  until: (events: { event: string; id: string; data: Record<string, unknown> }[]) => boolean,
  opts: { lastEventId?: string; timeoutMs?: number } = {},
) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 10_000);
  const events: { event: string; id: string; data: Record<string, unknown> }[] = [];
  try {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${key}`, ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
      signal: ac.signal,
    });
    if (res.status !== 200) return { status: res.status, events };
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f: Record<string, string> = {};
        for (const line of block.split('\n')) {
          const m = /^(event|id|data): ?(.*)$/.exec(line);
          if (m) f[m[1]!] = m[2]!;
        }
        if (f.data) events.push({ event: f.event ?? 'message', id: f.id ?? '', data: JSON.parse(f.data) });
      }
      if (until(events)) break;
    }
    return { status: 200, events };
  } catch (e) {
    if ((e as Error).name === 'AbortError') return { status: 200, events };
    throw e;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
