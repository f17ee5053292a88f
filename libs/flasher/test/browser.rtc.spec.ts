import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'rolldown';
import type { Page } from 'playwright-core';
import { launchChromium, type LaunchedChromium } from '@aegis/testkit/chromium';

// Both libraries must run in a browser (the dashboard flashes with them, and its virtual board runs the
// simulator in a Web Worker): bundle the sources for the browser platform and drive them in headless Chromium.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const lib = (name: string) => join(root, 'libs', name, 'src', 'index.ts');

let dir: string;
let server: Server;
let browser: LaunchedChromium;
let page: Page;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flasher-browser-'));
  await build({
    input: {
      page: fileURLToPath(new URL('./browser/page.ts', import.meta.url)),
      worker: fileURLToPath(new URL('./browser/worker.ts', import.meta.url)),
    },
    platform: 'browser',
    logLevel: 'silent',
    resolve: {
      alias: {
        '@aegis/device-sim': lib('device-sim'),
        '@aegis/flasher': lib('flasher'),
        '@aegis/esp': lib('esp'),
        '@aegis/protocol': lib('protocol'),
        '@aegis/testkit/flash-bundle': join(root, 'libs', 'testkit', 'src', 'flash-bundle.ts'),
      },
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
    output: { dir, format: 'esm', entryFileNames: '[name].js' },
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./page.js"></script>');
  server = createServer((req, res) => {
    const file = join(dir, (req.url ?? '/') === '/' ? 'index.html' : (req.url ?? '').split('?')[0]);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', file.endsWith('.html') ? 'text/html' : 'text/javascript');
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  browser = await launchChromium();
  page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => 'flasherTest' in globalThis);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Run = { baud: number; modes: string[]; bootLog: string };
const call = (name: 'inPage' | 'viaWorker') =>
  page.evaluate(
    (n) => (globalThis as unknown as { flasherTest: Record<string, () => Promise<Run>> }).flasherTest[n](),
    name,
  );

describe('in Chromium', () => {
  it('flash() with esptool-js drives a SimDevice in the page', async () => {
    const r = await call('inPage');
    expect(r).toMatchObject({ baud: 921600, modes: ['full', 'full', 'full'] });
    expect(r.bootLog).toContain('Project name:     in_page');
  });

  it('flash() drives a SimDevice living in a Web Worker through the message-port bridge', async () => {
    const r = await call('viaWorker');
    expect(r).toMatchObject({ baud: 460800, modes: ['full', 'full', 'full'] });
    expect(r.bootLog).toContain('Project name:     in_worker');
  });
});
