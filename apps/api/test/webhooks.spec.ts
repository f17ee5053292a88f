import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateWebhookResponse, GrantResponse, WebhookDeliveryListResponse, WebhookPayload } from '@aegis/protocol';
import { verify } from '../src/webhooks/signature.js';
import { grantBody, OFFER, req, world, type World } from './http.js';

interface Hit {
  body: string;
  signature: string | undefined;
}

/** A local receiver that fails its first `failFirst` requests with 500. */
async function receiver(failFirst: number) {
  const hits: Hit[] = [];
  let n = 0;
  const server = http.createServer((rq, rs) => {
    let body = '';
    rq.on('data', (c: Buffer) => (body += c.toString()));
    rq.on('end', () => {
      hits.push({ body, signature: rq.headers['x-aegis-signature'] as string | undefined });
      rs.statusCode = n++ < failFirst ? 500 : 204;
      rs.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`webhooks (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      // The receiver is on loopback, which webhooks refuse by default.
      w = await world(db, { WEBHOOK_ALLOW_PRIVATE: '1' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('delivers signed job state changes and retries after a 500', async () => {
      const rx = await receiver(1);
      try {
        const made = await req(w.url, 'POST', '/webhooks', w.user, { url: rx.url });
        expect(made.status).toBe(201);
        const hook = CreateWebhookResponse.parse(made.body);
        expect((await req(w.url, 'GET', '/webhooks', w.other)).body).toMatchObject({ webhooks: [] });
        expect((await req(w.url, 'GET', `/webhooks/${hook.webhook.id}/deliveries`, w.other)).status).toBe(404);

        const g = GrantResponse.parse((await req(w.url, 'POST', '/grant/request', w.user, grantBody())).body);
        await req(w.url, 'POST', `/signaling/${g.job_id}/offer`, w.user, OFFER);
        await req(w.url, 'POST', `/agents/jobs/${g.job_id}/claim`, w.machine.token);

        let list = WebhookDeliveryListResponse.parse(
          (await req(w.url, 'GET', `/webhooks/${hook.webhook.id}/deliveries`, w.user)).body,
        );
        for (let i = 0; i < 60 && !list.deliveries.some((d) => d.status === 'succeeded'); i++) {
          await new Promise((r) => setTimeout(r, 250));
          list = WebhookDeliveryListResponse.parse(
            (await req(w.url, 'GET', `/webhooks/${hook.webhook.id}/deliveries`, w.user)).body,
          );
        }
        expect(list.deliveries).toHaveLength(1);
        expect(list.deliveries[0]).toMatchObject({
          status: 'succeeded',
          attempts: 2,
          last_status_code: 204,
          job_id: g.job_id,
        });
        expect(rx.hits).toHaveLength(2);
        for (const hit of rx.hits) {
          expect(verify(hook.secret, hit.body, hit.signature)).toBe(true);
          expect(verify('whsec_wrong', hit.body, hit.signature)).toBe(false);
          expect(WebhookPayload.parse(JSON.parse(hit.body)).job).toMatchObject({ id: g.job_id, state: 'assigned' });
        }

        expect((await req(w.url, 'DELETE', `/webhooks/${hook.webhook.id}`, w.other)).status).toBe(404);
        expect((await req(w.url, 'DELETE', `/webhooks/${hook.webhook.id}`, w.user)).status).toBe(204);
        expect((await req(w.url, 'GET', '/webhooks', w.user)).body).toMatchObject({ webhooks: [] });
      } finally {
        await rx.close();
      }
    });

    it('does not deliver to private addresses unless the operator allows it', async () => {
      const strict = await world(db);
      try {
        const rx = await receiver(0);
        const hook = CreateWebhookResponse.parse(
          (await req(strict.url, 'POST', '/webhooks', strict.user, { url: rx.url })).body,
        );
        const g = GrantResponse.parse((await req(strict.url, 'POST', '/grant/request', strict.user, grantBody())).body);
        await req(strict.url, 'POST', `/jobs/${g.job_id}/cancel`, strict.user);
        let list = WebhookDeliveryListResponse.parse(
          (await req(strict.url, 'GET', `/webhooks/${hook.webhook.id}/deliveries`, strict.user)).body,
        );
        for (let i = 0; i < 40 && !list.deliveries.some((d) => d.attempts > 0); i++) {
          await new Promise((r) => setTimeout(r, 250));
          list = WebhookDeliveryListResponse.parse(
            (await req(strict.url, 'GET', `/webhooks/${hook.webhook.id}/deliveries`, strict.user)).body,
          );
        }
        expect(list.deliveries[0]).toMatchObject({
          status: 'pending',
          attempts: 1,
          last_status_code: null,
          last_error: expect.stringMatching(/address is not allowed/),
        });
        expect(rx.hits).toHaveLength(0);
        await rx.close();
      } finally {
        await strict.api.stop();
      }
    });

    it('refuses non-http URLs', async () => {
      const r = await req(w.url, 'POST', '/webhooks', w.user, { url: 'ftp://example.test/x' });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/url/) });
    });
  });
}
