import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type StartedApi } from '@aegis/testkit';
import { AuthThrottle } from '../src/auth/auth-throttle.js';
import { AppError } from '../src/errors.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** One request from a chosen loopback source address (127.0.0.x are all ours on Linux). */
function from(
  source: string,
  url: string,
  method: string,
  path: string,
  key?: string,
  body?: Buffer,
  contentType = 'application/json',
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const rq = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        localAddress: source,
        // Keep-alive: the server then discards an unread upload instead of closing mid-upload, which could
        // reset the connection before this client has read the answer.
        agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body ? { 'content-type': contentType, 'content-length': String(body.length) } : {}),
        },
      },
      (rs) => {
        let text = '';
        rs.on('data', (c: Buffer) => (text += c.toString()));
        rs.on('end', () =>
          resolve({ status: rs.statusCode!, headers: rs.headers, body: text ? JSON.parse(text) : {} }),
        );
      },
    );
    rq.on('error', reject);
    rq.end(body);
  });
}

const WRONG = 'aegis_u_' + 'x'.repeat(43);

describe('failed-authentication throttling per client address', () => {
  let api: StartedApi;
  beforeAll(async () => {
    api = await startApi({ env: { AUTH_FAIL_LIMIT: '5', AUTH_FAIL_WINDOW_SECS: '600' } });
  });
  afterAll(async () => api?.stop());

  it('after 5 wrong keys an address gets 429 with Retry-After, even with a right key; others are unaffected', async () => {
    const attacker = '127.0.0.2';
    for (let i = 0; i < 5; i++) {
      const r = await from(attacker, api.url, 'GET', '/me', WRONG);
      expect(r.status).toBe(401);
    }
    const blocked = await from(attacker, api.url, 'GET', '/me', WRONG);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ code: 'too_many_auth_failures' });
    const retry = Number(blocked.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(600);
    // A guess that happens to be right is not confirmed while blocked.
    expect((await from(attacker, api.url, 'GET', '/me', api.adminKey)).status).toBe(429);
    // Machine tokens and the MCP route share the count.
    expect((await from(attacker, api.url, 'GET', '/agents/jobs', 'aegis_m_' + 'y'.repeat(43))).status).toBe(429);
    expect((await from(attacker, api.url, 'POST', '/mcp', api.adminKey, Buffer.from('{}'))).status).toBe(429);

    // Another address with the right key is served; its own failures are counted separately.
    expect((await from('127.0.0.1', api.url, 'GET', '/me', api.adminKey)).status).toBe(200);
    expect((await from('127.0.0.3', api.url, 'GET', '/me', WRONG)).status).toBe(401);
    expect((await from('127.0.0.3', api.url, 'GET', '/me', api.adminKey)).status).toBe(200);
  });

  it('refuses a 12 MB /mcp body without a valid key before parsing it', async () => {
    // Not JSON at all: parsed first it would be a 400 invalid_input; refused unread it is a 401.
    const big = Buffer.alloc(12 * 1024 * 1024 - 1024, 'x');
    const r = await from('127.0.0.4', api.url, 'POST', '/mcp', WRONG, big);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'unauthenticated' });
    const none = await from('127.0.0.4', api.url, 'POST', '/messages?sessionId=x', undefined, big);
    expect(none.status).toBe(401);
    // With a valid key the same body does reach the parser.
    const parsed = await from('127.0.0.4', api.url, 'POST', '/mcp', api.adminKey, Buffer.from('{not json'));
    expect(parsed.status).toBe(400);
    expect(parsed.body).toMatchObject({ code: 'invalid_input' });
  });
});

describe('AuthThrottle window', () => {
  it('forgets an address when its window ends', () => {
    let now = 1_000_000;
    const t = new AuthThrottle({ authFailLimit: 2, authFailWindowSecs: 10 }, { now: () => now });
    t.fail('a');
    t.fail('a');
    expect(() => t.check('a')).toThrow(AppError);
    expect(() => t.check('b')).not.toThrow();
    now += 9_000;
    try {
      t.check('a');
      expect.unreachable();
    } catch (e) {
      expect((e as AppError).headers['Retry-After']).toBe('1');
    }
    now += 1_000;
    expect(() => t.check('a')).not.toThrow();
    t.fail('a');
    expect(() => t.check('a')).not.toThrow();
  });
});
