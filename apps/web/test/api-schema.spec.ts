import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobView, MachineListResponse } from '@aegis/protocol';
import { ErrorBox } from '../src/components/error-box';
import { ApiError, ApiSchemaError, api, apiSend, errorOf } from '../src/lib/api';
import { openSignaling } from '../src/lib/rtc/signaling';
import { fetchMe } from '../src/server/me';

const JOB_ID = '0b9a8f55-1c6e-4d7a-9a3c-2f2f4c1e8a10';

function answer(status: number, body: unknown) {
  const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify(body), { status }));
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('REST answers are parsed with the libs/protocol schema of their route', () => {
  it('returns the parsed answer when it matches', async () => {
    const fetch = answer(200, { v: 1, machines: [] });
    await expect(api('machines', MachineListResponse)).resolves.toEqual({ v: 1, machines: [] });
    expect(fetch.mock.calls[0][0]).toBe('/api/aegis/machines');
  });

  it('a mismatch is an ApiSchemaError naming the route and the field, not a half-read object', async () => {
    answer(200, { v: 1, machines: [{ id: 'not-a-uuid', name: 'm1' }] });
    const err = await api('machines?all=1', MachineListResponse).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiSchemaError);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'bad_response', route: 'GET /machines' });
    // Which field: the path into the answer.
    expect((err as ApiSchemaError).message).toContain("The API's answer to GET /machines does not match");
    expect((err as ApiSchemaError).issues).toMatch(/machines\.0\.id/);
    expect((err as ApiSchemaError).issues).toMatch(/machines\.0\.online/);
  });

  it('the page shows that error like any other (route, field and code), it does not crash', async () => {
    answer(200, { v: 1, machines: 'none' });
    const err = await api('machines', MachineListResponse).catch((e: unknown) => e);
    const html = renderToStaticMarkup(createElement(ErrorBox, { error: err, title: 'Machines could not be loaded' }));
    expect(html).toContain('role="alert"');
    expect(html).toContain('GET /machines');
    expect(html).toContain('machines: Invalid input: expected array');
    expect(html).toContain('(bad_response)');
  });

  it('names the route of a call with a path parameter without its query', async () => {
    answer(200, { v: 1, id: JOB_ID, state: 'exploded' });
    const err = (await api(`jobs/${JOB_ID}?x=1`, JobView).catch((e: unknown) => e)) as ApiSchemaError;
    expect(err.route).toBe(`GET /jobs/${JOB_ID}`);
    expect(err.issues).toMatch(/kind: /);
  });

  it("reads the API's ErrorBody on a failed call, and falls back to the status for anything else", async () => {
    answer(429, { error: { code: 'queue_full', message: 'Too many queued builds; wait for one to finish.' } });
    await expect(apiSend('grant/request', { method: 'POST', json: {} })).rejects.toMatchObject({
      status: 429,
      code: 'queue_full',
      message: 'Too many queued builds; wait for one to finish.',
    });
    answer(502, '<html>bad gateway</html>');
    await expect(apiSend('grant/request', { method: 'POST', json: {} })).rejects.toMatchObject({
      status: 502,
      code: 'http_502',
    });
    expect(errorOf({ statusCode: 400, message: ['a', 'b'] })).toEqual({ message: 'a; b' });
  });
});

describe('signaling events are parsed with SignalingEvent', () => {
  class FakeEventSource extends EventTarget {
    static CLOSED = 2;
    static last: FakeEventSource;
    readyState = 1;
    onmessage: ((e: MessageEvent) => void) | null = null;
    onerror: (() => void) | null = null;
    constructor(readonly url: string) {
      super();
      FakeEventSource.last = this;
    }
    close() {
      this.readyState = FakeEventSource.CLOSED;
    }
    emit(type: string, data: unknown) {
      this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data) }));
    }
  }

  it('hands over a valid event and ends the stream with a message naming the field on a malformed one', () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const events: unknown[] = [];
    const broken: string[] = [];
    openSignaling(
      JOB_ID,
      (e) => events.push(e),
      (m) => broken.push(m),
    );
    const es = FakeEventSource.last;
    expect(es.url).toBe(`/api/aegis/signaling/${JOB_ID}/events`);
    es.emit('state', { seq: 1, job_id: JOB_ID, state: 'pending' });
    expect(events).toEqual([{ type: 'state', seq: 1, job_id: JOB_ID, state: 'pending' }]);
    es.emit('assigned', { seq: 2, job_id: JOB_ID, machine_id: JOB_ID });
    expect(events).toHaveLength(1);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatch(/signaling event \(assigned\).*machine_name/);
    expect(es.readyState).toBe(FakeEventSource.CLOSED);
  });
});

describe("the sign-in's GET /me (server side)", () => {
  const reply = (status: number, body: unknown) => async () => new Response(JSON.stringify(body), { status });
  const user = { id: JOB_ID, name: 'Ada', role: 'admin', created_at: '2026-01-01T00:00:00.000Z', disabled: false };

  it('reads the user from MeResponse', async () => {
    await expect(fetchMe('k', reply(200, { v: 1, user, key_id: JOB_ID }))).resolves.toEqual({
      ok: true,
      me: { userId: JOB_ID, name: 'Ada', isAdmin: true },
    });
  });

  it('says which field does not match instead of guessing another name', async () => {
    const r = await fetchMe(
      'k',
      reply(200, { v: 1, user: { ...user, name: undefined, login: 'ada' }, key_id: JOB_ID }),
    );
    expect(r).toMatchObject({ ok: false, status: 502, code: 'bad_response' });
    expect(!r.ok && r.message).toMatch(/GET \/me .*user\.name/);
  });
});
