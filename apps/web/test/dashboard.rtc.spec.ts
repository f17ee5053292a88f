import { createMachineToken, createUser, startApi, type StartedApi } from '@aegis/testkit';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchDashboardBrowser, type Browser } from './support/chromium';
import { startWeb, type WebServer } from './support/next-server';
import { shot } from './support/shots';

let api: StartedApi;
let web: WebServer;
let browser: Browser;
let page: Page;
let userKey: string;
const consoleErrors: string[] = [];

beforeAll(async () => {
  api = await startApi();
  userKey = await createUser(api.url, api.adminKey, 'user', 'Ada');
  web = await startWeb({ AEGIS_API_URL: api.url, AEGIS_DATA_DIR: mkdtempSync(join(tmpdir(), 'aegis-web-')) });
  browser = await launchDashboardBrowser();
  page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await api?.stop();
});

async function signIn(key: string) {
  await page.goto(`${web.url}/signin`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('dashboard without a build machine', () => {
  it('sends a signed-out visitor to sign-in and explains a wrong key', async () => {
    await page.goto(`${web.url}/builds`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    await signIn('aegis_u_thisKeyDoesNotExist12345');
    await expect.poll(() => page.locator('.alert[role=alert]').textContent()).toContain('was not accepted');
    await shot(page, '01-signin-wrong-key');
    // The proxy refuses to work for a visitor without a session.
    const res = await page.evaluate(() => fetch('/api/aegis/me').then((r) => r.status));
    expect(res).toBe(401);
  });

  it('signs in and keeps the key only in a sealed httpOnly, SameSite=Strict cookie', async () => {
    await signIn(userKey);
    await page.waitForURL(`${web.url}/builds`);
    await expect.poll(() => page.getByTestId('user-name').textContent()).toContain('Ada');
    await expect.poll(() => page.getByText('No builds yet').count()).toBe(1);
    const cookies = await browser.ctx.cookies();
    const session = cookies.find((c) => c.name === 'aegis_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Strict');
    expect(session.value).not.toContain(userKey);
    const visible = await page.evaluate(() => ({
      cookie: document.cookie,
      local: JSON.stringify(localStorage),
      session: JSON.stringify(sessionStorage),
      html: document.documentElement.outerHTML,
    }));
    for (const v of Object.values(visible)) expect(v).not.toContain(userKey);
    await shot(page, '02-history-empty');
  });

  it('shows the reason when the API refuses the grant', async () => {
    await page.goto(`${web.url}/builds/new`);
    await page.getByRole('button', { name: 'Start build' }).click();
    const alert = page.locator('.alert[role=alert]');
    await expect.poll(() => alert.textContent(), { timeout: 20_000 }).toContain('No build machine is online');
    expect(await alert.textContent()).toContain('no_machine');
    await shot(page, '03-grant-refused');
  });

  it('lists a machine that sent a heartbeat, with its IDF versions, targets and slots', async () => {
    const m = await createMachineToken(api.url, api.adminKey, 'bench-1');
    const hb = await fetch(`${api.url}/agents/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${m.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        v: 1,
        name: 'bench-1',
        agent_version: 'test',
        capacity: { total_slots: 2, free_slots: 1, cpu_cores: 2, memory_mb: 4096 },
        idf_versions: ['5.1.6'],
        targets: ['esp32c3', 'esp32'],
        running_job_ids: [],
      }),
    });
    expect(hb.status, await hb.text()).toBeLessThan(300);
    await page.goto(`${web.url}/machines`);
    const table = page.getByTestId('machines');
    await expect.poll(() => table.textContent()).toContain('bench-1');
    const text = (await table.textContent()) ?? '';
    expect(text).toContain('online');
    expect(text).toContain('5.1.6');
    expect(text).toContain('esp32c3');
    expect(text).toMatch(/esp32(?!c)/);
    expect(text).toContain('1 / 2');
    await shot(page, '04-machines');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '05-machines-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('can be used from the keyboard: the first Tab reaches the skip link, which moves focus to the content', async () => {
    await page.goto(`${web.url}/machines`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Every form control on the new-build page has a label.
    await page.goto(`${web.url}/builds/new`);
    const unlabeled = await page.evaluate(
      () =>
        [...document.querySelectorAll('input, select, textarea')].filter(
          (el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'),
        ).length,
    );
    expect(unlabeled).toBe(0);
  });

  it('serves a same-origin-only Content-Security-Policy and nothing on the pages broke it', async () => {
    const res = await fetch(`${web.url}/signin`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });

  it('ends the session when the key is revoked after sign-in', async () => {
    const b = await launchDashboardBrowser();
    try {
      const key = await createUser(api.url, api.adminKey, 'user', 'Bob');
      const p = b.ctx.pages()[0] ?? (await b.ctx.newPage());
      await p.goto(`${web.url}/signin`);
      await p.getByLabel('API key').fill(key);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.waitForURL(`${web.url}/builds`);
      const me = (await (await fetch(`${api.url}/me`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
        key_id: string;
      };
      const del = await fetch(`${api.url}/keys/${me.key_id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${key}` },
      });
      expect(del.status).toBeLessThan(300);
      // The page's next poll through the proxy gets signed_out: the cookie is dropped and the page goes to sign-in.
      await p.waitForURL(`${web.url}/signin`, { timeout: 20_000 });
      expect((await b.ctx.cookies()).find((c) => c.name === 'aegis_session')).toBeUndefined();
      const r = await p.evaluate(() => fetch('/api/aegis/jobs').then((x) => x.status));
      expect(r).toBe(401);
    } finally {
      await b.close();
    }
  });

  it('refuses sign-in and API writes that another site makes the browser send', async () => {
    const evil = { origin: 'http://evil.example', 'content-type': 'application/json' };
    const signin = await fetch(`${web.url}/api/session`, {
      method: 'POST',
      headers: evil,
      body: JSON.stringify({ apiKey: userKey }),
    });
    expect(signin.status).toBe(403);
    expect(signin.headers.get('set-cookie')).toBeNull();
    const cookie = (await browser.ctx.cookies()).find((c) => c.name === 'aegis_session')!;
    const write = await fetch(`${web.url}/api/aegis/grant/request`, {
      method: 'POST',
      headers: { ...evil, cookie: `aegis_session=${cookie.value}` },
      body: '{}',
    });
    expect(write.status).toBe(403);
    // The machine endpoints are not reachable through the proxy at all.
    const agents = await fetch(`${web.url}/api/aegis/agents/jobs`, {
      headers: { cookie: `aegis_session=${cookie.value}` },
    });
    expect(agents.status).toBe(404);
  });

  it('signs out: the cookie is gone and the proxy refuses', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${web.url}/signin`);
    expect((await browser.ctx.cookies()).find((c) => c.name === 'aegis_session')).toBeUndefined();
    expect(await page.evaluate(() => fetch('/api/aegis/jobs').then((r) => r.status))).toBe(401);
  });
});
