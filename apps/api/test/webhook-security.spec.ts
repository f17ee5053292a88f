import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '@aegis/testkit';
import { CreateWebhookResponse, GrantResponse, WebhookDeliveryListResponse } from '@aegis/protocol';
import { addressPolicy, isPrivateAddress } from '../src/webhooks/private-address.js';
import { deliver, DeliveryError } from '../src/webhooks/deliver.js';
import { grantBody, req, world, type World } from './http.js';

/** A receiver on `host` that answers 204, or never answers when `hang`. */
async function receiver(host: string, port = 0, hang = false) {
  const hits: string[] = [];
  const server = http.createServer((rq, rs) => {
    rq.resume();
    rq.on('end', () => {
      hits.push(rq.url ?? '');
      if (!hang) rs.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const until = async (what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000) => {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** A non-loopback IPv4 address of this host (the API host's own interface). */
function ownInterfaceAddress(): string {
  for (const list of Object.values(os.networkInterfaces()))
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  throw new Error('this test needs a non-loopback IPv4 interface on the host');
}

describe('webhook address policy', () => {
  it('refuses loopback, private, link-local, unspecified, multicast and reserved addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.0.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.251',
      '255.255.255.255',
      '192.0.2.2',
      '::',
      '::1',
      'fd00::2',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::7f00:1',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888']) expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it("refuses the host's own interface addresses, whatever range they are in, unless allowed", () => {
    const own = () => new Set(['8.8.4.4', '2001:4860:4860::8844']);
    const strict = addressPolicy(false, own);
    expect(strict.refuses('8.8.4.4')).toBe(true);
    expect(strict.refuses('::ffff:8.8.4.4')).toBe(true);
    expect(strict.refuses('2001:4860:4860::8844')).toBe(true);
    expect(strict.refuses('8.8.8.8')).toBe(false);
    const open = addressPolicy(true, own);
    expect(open.refuses('8.8.4.4')).toBe(false);
    expect(open.refuses('127.0.0.1')).toBe(false);
  });
});

describe('webhook delivery pins the address it checked (DNS rebinding)', () => {
  it('resolves once and connects to the checked address, even when a second answer would differ', async () => {
    // "good" is the address the check allows; "evil" is what a rebinding DNS server answers the second time.
    const good = await receiver('127.0.0.1');
    const evil = await receiver('127.0.0.2', good.port);
    let lookups = 0;
    const policy = {
      refuses: (ip: string) => ip !== '127.0.0.1',
      resolve: async () => [{ address: lookups++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }],
    };
    try {
      for (let i = 0; i < 5; i++) {
        lookups = 0;
        const status = await deliver(`http://rebind.test:${good.port}/hook`, '{}', {}, { policy, timeoutMs: 5000 });
        expect(status).toBe(204);
        expect(lookups).toBe(1);
      }
      expect(good.hits).toHaveLength(5);
      expect(evil.hits).toHaveLength(0);
      // An answer with only refused addresses is refused without connecting.
      lookups = 1;
      await expect(
        deliver(`http://rebind.test:${good.port}/hook`, '{}', {}, { policy, timeoutMs: 5000 }),
      ).rejects.toBeInstanceOf(DeliveryError);
      expect(evil.hits).toHaveLength(0);
    } finally {
      await Promise.all([good.close(), evil.close()]);
    }
  });
});

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`webhook SSRF and limits (${db})`, () => {
    let strict: World;
    let open: World;
    beforeAll(async () => {
      [strict, open] = await Promise.all([
        world(db, { WEBHOOK_MAX_PER_USER: '3' }),
        // Loopback receivers need the operator's permission; a long attempt deadline keeps a hanging one hanging.
        world(db, { WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_TIMEOUT_SECS: '300', USER_MAX_CONCURRENT_JOBS: '20' }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([strict?.api.stop(), open?.api.stop()]);
    });

    async function deliveries(w: World, key: string, hookId: string) {
      return WebhookDeliveryListResponse.parse((await req(w.url, 'GET', `/webhooks/${hookId}/deliveries`, key)).body)
        .deliveries;
    }

    /** One job state change for `key`'s webhooks: a grant, then its cancellation. */
    async function stateChange(w: World, key: string) {
      const g = GrantResponse.parse((await req(w.url, 'POST', '/grant/request', key, grantBody())).body);
      expect((await req(w.url, 'POST', `/jobs/${g.job_id}/cancel`, key)).status).toBe(200);
    }

    it("never reaches the API host's own address, and a refusal looks the same for open and closed ports", async () => {
      const own = ownInterfaceAddress();
      const rx = await receiver('0.0.0.0');
      // A port with nothing listening: the same receiver closed again.
      const gone = await receiver('0.0.0.0');
      await gone.close();
      try {
        const user = await createUser(strict.url, strict.admin);
        const hooks: string[] = [];
        for (const port of [rx.port, gone.port]) {
          const made = await req(strict.url, 'POST', '/webhooks', user, { url: `http://${own}:${port}/hook` });
          expect(made.status).toBe(201);
          hooks.push(CreateWebhookResponse.parse(made.body).webhook.id);
        }
        await stateChange(strict, user);
        await until('both attempts', async () => {
          const all = await Promise.all(hooks.map((h) => deliveries(strict, user, h)));
          return all.every((d) => d[0] && d[0].attempts > 0);
        });
        const [openPort, closedPort] = await Promise.all(hooks.map((h) => deliveries(strict, user, h)));
        expect(rx.hits).toHaveLength(0);
        for (const d of [openPort![0]!, closedPort![0]!])
          expect(d).toMatchObject({ status: 'pending', last_status_code: null });
        expect(openPort![0]!.last_error).toBe(closedPort![0]!.last_error);
        expect(openPort![0]!.last_error).toMatch(/address is not allowed/);
      } finally {
        await rx.close();
      }
    });

    it('caps webhooks per user with a clear error, also under concurrent creates', async () => {
      const user = await createUser(strict.url, strict.admin);
      const all = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          req(strict.url, 'POST', '/webhooks', user, { url: `https://hooks.example/${i}` }),
        ),
      );
      expect(all.filter((r) => r.status === 201)).toHaveLength(3);
      const refused = all.filter((r) => r.status !== 201);
      expect(refused).toHaveLength(9);
      for (const r of refused)
        expect(r).toMatchObject({ status: 409, body: { code: 'webhook_limit', message: expect.stringMatching(/3/) } });
      const list = (await req<{ webhooks: { id: string }[] }>(strict.url, 'GET', '/webhooks', user)).body.webhooks;
      expect(list).toHaveLength(3);
      // Deleting one makes room again.
      expect((await req(strict.url, 'DELETE', `/webhooks/${list[0]!.id}`, user)).status).toBe(204);
      expect((await req(strict.url, 'POST', '/webhooks', user, { url: 'https://hooks.example/x' })).status).toBe(201);
      expect((await req(strict.url, 'POST', '/webhooks', user, { url: 'https://hooks.example/y' })).status).toBe(409);
    });

    it("one user's receiver that never answers does not hold up another user's delivery", async () => {
      const slow = await receiver('127.0.0.1', 0, true);
      const fast = await receiver('127.0.0.1');
      try {
        const a = await createUser(open.url, open.admin);
        const b = await createUser(open.url, open.admin);
        const slowHooks: string[] = [];
        for (let i = 0; i < 3; i++)
          slowHooks.push(
            CreateWebhookResponse.parse(
              (await req(open.url, 'POST', '/webhooks', a, { url: `http://127.0.0.1:${slow.port}/a${i}` })).body,
            ).webhook.id,
          );
        // Two state changes each: six deliveries queued for the receiver that hangs.
        await stateChange(open, a);
        await stateChange(open, a);
        await until('the hanging receiver to be called', () => slow.hits.length > 0);

        const fastHook = CreateWebhookResponse.parse(
          (await req(open.url, 'POST', '/webhooks', b, { url: `http://127.0.0.1:${fast.port}/b` })).body,
        ).webhook.id;
        await stateChange(open, b);
        await until('the other user to be delivered to', async () =>
          (await deliveries(open, b, fastHook)).some((d) => d.status === 'succeeded'),
        );
        // Ordering, not timing: B's delivery completed while every one of A's is still unfinished (none attempted
        // to its end), and A's receiver has at most one request per endpoint open (per-endpoint queues).
        expect(fast.hits).toHaveLength(1);
        for (const h of slowHooks)
          for (const d of await deliveries(open, a, h)) expect(d).toMatchObject({ status: 'pending', attempts: 0 });
        expect(slow.hits.length).toBeLessThanOrEqual(3);
      } finally {
        await Promise.all([slow.close(), fast.close()]);
      }
    });
  });
}
