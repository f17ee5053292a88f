import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '@aegis/esp';
import { shot } from './support/shots';
import { signIn, startStack, type Stack } from './support/stack';

/**
 * One real ESP-IDF build (hello_world for the ESP32-C3, in the sandbox) and what a user does with its results:
 * the bundle downloaded and verified on the Flash page by the real machine's key (found by the JWS kid), the ESP
 * Web Tools zip, and the terminal that a reattached (read-only) session does not offer.
 */
let s: Stack;
let jobId = '';
let bundleTar: Buffer = Buffer.alloc(0);
/** A clean hello_world build: 40-80 s on 2 idle cores, over 9 minutes on the shared host under load 20-35. */
const BUILD_MS = 1_140_000;

beforeAll(async () => {
  // Two slots: the reattachment needs a free one while the first connection still holds its own.
  s = await startStack({ machine: true, slots: 2 });
  await signIn(s);
});
afterAll(async () => {
  await s?.stop();
});

async function download(page: Page, button: string): Promise<Buffer> {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    page.getByRole('button', { name: button }).click(),
  ]);
  return readFileSync((await dl.path())!);
}

describe('a real build’s downloads, verified', () => {
  it(
    'builds hello_world; the session that started it offers a terminal',
    async () => {
      const { page, web } = s;
      await page.goto(`${web.url}/builds/new`);
      await page.getByLabel('Template', { exact: true }).selectOption('hello_world');
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      jobId = page.url().split('/').pop()!;
      await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: BUILD_MS }).toBe('succeeded');
      await expect.poll(() => page.getByTestId('artifacts').locator('tbody tr').count()).toBeGreaterThan(0);
      expect(await page.getByRole('button', { name: 'Open shell' }).count()).toBe(1);
      expect(await page.getByTestId('terminal-unavailable').count()).toBe(0);
      await shot(page, '70-built');
    },
    BUILD_MS + 60_000,
  );

  it('offers the ESP Web Tools manifest as a self-contained zip', async () => {
    const { page } = s;
    bundleTar = await download(page, 'Flash bundle (.tar)');
    const bundle = readTar(new Uint8Array(bundleTar));
    const zip = await download(page, 'ESP Web Tools (.zip)');
    const dir = mkdtempSync(join(tmpdir(), 'web-tools-'));
    const zipPath = join(dir, 'w.zip');
    writeFileSync(zipPath, zip);
    expect(execFileSync('unzip', ['-t', zipPath]).toString()).toMatch(/No errors detected/);
    execFileSync('unzip', ['-q', zipPath, '-d', join(dir, 'out')]);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8')) as {
      builds: { chipFamily: string; parts: { path: string; offset: number }[] }[];
    };
    expect(manifest.builds).toHaveLength(1);
    expect(manifest.builds[0].chipFamily).toBe('ESP32-C3');
    const parts = manifest.builds[0].parts;
    expect(parts.map((p) => p.offset)).toContain(0x10000);
    const signed = JSON.parse(new TextDecoder().decode(bundle.get('manifest.json')!)) as {
      parts: { file: string; offset: number }[];
    };
    expect(parts.length).toBe(signed.parts.length);
    for (const p of parts) {
      // Relative to manifest.json, inside the zip, and the very bytes of the signed bundle's part at that offset.
      expect(p.path).not.toMatch(/^\/|\.\.|^[a-z]+:/i);
      const file = join(dir, 'out', p.path);
      expect(existsSync(file), p.path).toBe(true);
      const inBundle = signed.parts.find((q) => q.offset === p.offset)!;
      expect(Buffer.from(readFileSync(file)).equals(Buffer.from(bundle.get(inBundle.file)!))).toBe(true);
    }
    await shot(page, '71-downloads');
  });

  it('verifies the downloaded bundle on the Flash page with the real machine’s key, found by its kid', async () => {
    const { page, web } = s;
    const jws = new TextDecoder().decode(readTar(new Uint8Array(bundleTar)).get('manifest.jws')!);
    const kid = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString()).kid as string;
    expect(kid).toMatch(/^bundle-[0-9a-f]{16}$/);
    await page.goto(`${web.url}/flash`);
    await page
      .getByLabel(/Flash bundle/)
      .setInputFiles({ name: 'hello_world-bundle.tar', mimeType: 'application/x-tar', buffer: bundleTar });
    const status = page.getByTestId('signature-status');
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toMatch(/Signed by build machine builder-1/);
    expect(await status.textContent()).toContain(kid);
    await page.getByLabel(/Virtual board/).check();
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    await expect
      .poll(() => page.getByTestId('flash-result').textContent(), { timeout: 90_000 })
      .toContain('Flashed and verified');
    await shot(page, '72-real-bundle-verified');
  });

  it('shows no terminal buttons on a reattached (read-only) build, and says why', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/builds/${jobId}`);
    await page.getByRole('button', { name: 'Open log and results' }).click();
    await expect
      .poll(() => page.getByTestId('artifacts').locator('tbody tr').count(), { timeout: 60_000 })
      .toBeGreaterThan(0);
    const why = page.getByTestId('terminal-unavailable');
    await expect.poll(() => why.textContent(), { timeout: 20_000 }).toMatch(/reattached session is read-only/);
    expect(await page.getByRole('button', { name: 'Open shell' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'idf.py menuconfig' }).count()).toBe(0);
    await shot(page, '73-reattached-no-terminal');
  });
});
