import { createUser, startApi, type StartedApi } from '@aegis/testkit';
import type { StartedMachine } from '@aegis/testkit/machine';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchDashboardBrowser, type Browser } from './chromium';
import { startBuildMachine } from './machine';
import { startWeb, type WebServer } from './next-server';

export interface Stack {
  api: StartedApi;
  web: WebServer;
  machine: StartedMachine | null;
  browser: Browser;
  page: Page;
  userKey: string;
  stop(): Promise<void>;
}

/**
 * The real API, optionally one real build machine (real ESP-IDF, bubblewrap sandbox), the built dashboard, and
 * Chromium.
 */
export async function startStack(o: {
  machine: boolean;
  slots?: number;
  /** Extra environment for the build machine (e.g. AEGIS_RESULTS_RETENTION_MINS). */
  machineEnv?: Record<string, string>;
}): Promise<Stack> {
  const api = await startApi();
  const userKey = await createUser(api.url, api.adminKey, 'user', 'Ada');
  let machine: StartedMachine | null = null;
  if (o.machine) machine = await startBuildMachine(api, { name: 'builder-1', slots: o.slots ?? 1, env: o.machineEnv });
  const web = await startWeb({ AEGIS_API_URL: api.url, AEGIS_DATA_DIR: mkdtempSync(join(tmpdir(), 'aegis-web-')) });
  const browser = await launchDashboardBrowser();
  const page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
  return {
    api,
    web,
    machine,
    browser,
    page,
    userKey,
    async stop() {
      await browser.close();
      await web.stop();
      await machine?.stop();
      await api.stop();
    },
  };
}

export async function signIn(s: Stack, key = s.userKey) {
  await s.page.goto(`${s.web.url}/signin`);
  await s.page.getByLabel('API key').fill(key);
  await s.page.getByRole('button', { name: 'Sign in' }).click();
  await s.page.waitForURL(`${s.web.url}/builds`);
}
