import { createMachineToken } from '@aegis/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleSigner } from '@aegis/testkit/flash-bundle';
import { signedBundleTar, signingKey } from './support/bundle';
import { launchDashboardBrowser } from './support/chromium';
import { shot } from './support/shots';
import { signIn, startStack, type Stack } from './support/stack';

let s: Stack;
let machineId = '';
let key: BundleSigner;

beforeAll(async () => {
  s = await startStack({ machine: false });
  key = await signingKey();
  // A machine that announced its bundle-signing key (as real machines do in their heartbeat).
  const m = await createMachineToken(s.api.url, s.api.adminKey, 'signer');
  machineId = m.machineId;
  const hb = await fetch(`${s.api.url}/agents/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${m.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      v: 1,
      name: 'signer',
      agent_version: 'test',
      capacity: { total_slots: 1, free_slots: 1, cpu_cores: 1, memory_mb: 1024 },
      idf_versions: ['5.1.6'],
      targets: ['esp32c3', 'esp32'],
      running_job_ids: [],
      bundle_public_jwk: key.publicJwk,
    }),
  });
  expect(hb.status, await hb.text()).toBeLessThan(300);
  await signIn(s);
});
afterAll(async () => {
  await s?.stop();
});

describe('flashing the virtual board from a bundle file', () => {
  it('checks the signature, flashes every part with progress, verifies, and shows the boot log', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/flash`);
    await page.getByLabel(/Flash bundle/).setInputFiles({
      name: 'hello-bundle.tar',
      mimeType: 'application/x-tar',
      buffer: await signedBundleTar({ key, machineId }),
    });
    await expect.poll(() => page.getByTestId('bundle-summary').textContent()).toContain('esp32c3');
    await expect.poll(() => page.getByText('The bundle signature is checked').count()).toBe(1);
    await page.getByLabel(/Virtual board/).check();
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const result = page.getByTestId('flash-result');
    await expect.poll(() => result.count(), { timeout: 60_000 }).toBe(1);
    const text = (await result.textContent()) ?? '';
    expect(text).toContain('Flashed and verified');
    expect(text).toMatch(/ESP32-C3/);
    for (const part of ['bootloader', 'partition-table', 'app']) expect(text).toContain(part);
    expect(text).toContain('MD5 verified');
    expect(await page.getByTestId('virtual-where').textContent()).toBe('runs in a Web Worker');
    // One progress bar per part, each at 100 % with its transfer rate.
    const bars = page.getByRole('progressbar');
    expect(await bars.count()).toBe(3);
    for (const b of await bars.all()) expect(await b.getAttribute('aria-valuenow')).toBe('100');
    expect(await page.getByLabel('Progress per part').textContent()).toMatch(/KiB\/s/);
    // The monitor opened after the reset and shows the ROM's boot log of the new image.
    await expect
      .poll(() => page.getByTestId('monitor').locator('.xterm-rows').textContent(), { timeout: 20_000 })
      .toMatch(/boot|ESP-ROM|rst:/i);
    await shot(page, '20-flash-virtual-board');
  });

  it('reflashes only the sectors that changed', async () => {
    const { page } = s;
    await page.getByLabel(/Flash bundle/).setInputFiles({
      name: 'hello-bundle-2.tar',
      mimeType: 'application/x-tar',
      buffer: await signedBundleTar({ key, machineId, seed: 1 }),
    });
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const result = page.getByTestId('flash-result');
    await expect.poll(() => result.textContent(), { timeout: 60_000 }).toContain('0 changed sectors written');
    await shot(page, '21-reflash-sector-diff');
  });

  it('rewrites every sector when asked to skip the sector-diff', async () => {
    const { page } = s;
    await page.getByLabel(/Rewrite every sector/).check();
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const result = page.getByTestId('flash-result');
    await expect
      .poll(() => result.textContent(), { timeout: 60_000 })
      .toMatch(/bootloader[^,]*, written in full[\s\S]*app[^,]*, written in full/);
    await page.getByLabel(/Rewrite every sector/).uncheck();
  });

  it('refuses a bundle whose file does not match the signed manifest, writing nothing', async () => {
    const { page } = s;
    await page.getByLabel(/Flash bundle/).setInputFiles({
      name: 'tampered.tar',
      mimeType: 'application/x-tar',
      buffer: await signedBundleTar({ key, machineId, tamper: true }),
    });
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const err = page.locator('.alert[role=alert]');
    await expect
      .poll(() => err.textContent(), { timeout: 30_000 })
      .toMatch(/sha256|does not match|Nothing was written/i);
    await shot(page, '22-tampered-refused');
  });
});

describe('a browser without Web Serial', () => {
  it('names the browsers that work and still offers the virtual board', async () => {
    const b = await launchDashboardBrowser();
    try {
      await b.ctx.addInitScript(() => {
        Object.defineProperty(Navigator.prototype, 'serial', { get: () => undefined, configurable: true });
      });
      const page = b.ctx.pages()[0] ?? (await b.ctx.newPage());
      await page.goto(`${s.web.url}/signin`);
      await page.getByLabel('API key').fill(s.userKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${s.web.url}/builds`);
      await page.goto(`${s.web.url}/flash`);
      const msg = page.getByTestId('web-serial-missing');
      await expect.poll(() => msg.textContent()).toMatch(/Chrome, Edge or Opera/);
      expect(await page.getByLabel(/USB board/).isDisabled()).toBe(true);
      expect(await page.getByLabel(/Virtual board/).isDisabled()).toBe(false);
      await shot(page, '23-no-web-serial');
    } finally {
      await b.close();
    }
  });
});

describe('a real board over Web Serial', () => {
  it('picks the port through navigator.serial and explains a port held by another program', async () => {
    const b = await launchDashboardBrowser();
    try {
      // Headless Chromium has no port chooser: a page-level shim stands in for a port another program holds.
      await b.ctx.addInitScript(() => {
        const port = {
          readable: null as ReadableStream<Uint8Array> | null,
          writable: null as WritableStream<Uint8Array> | null,
          getInfo: () => ({ usbVendorId: 0x10c4, usbProductId: 0xea60 }),
          // Held by another program, until the test sets __silent: then it opens and never answers.
          open: async () => {
            if (!(window as unknown as { __silent?: boolean }).__silent)
              throw new DOMException('Failed to open serial port.', 'NetworkError');
            port.readable = new ReadableStream<Uint8Array>();
            port.writable = new WritableStream<Uint8Array>();
          },
          close: async () => {
            port.readable = null;
            port.writable = null;
          },
          setSignals: async () => {},
        };
        const serial = { requestPort: async () => port, getPorts: async () => [port] };
        Object.defineProperty(Navigator.prototype, 'serial', { get: () => serial, configurable: true });
      });
      const page = b.ctx.pages()[0] ?? (await b.ctx.newPage());
      await page.goto(`${s.web.url}/signin`);
      await page.getByLabel('API key').fill(s.userKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${s.web.url}/builds`);
      await page.goto(`${s.web.url}/flash`);
      await page.getByLabel(/Flash bundle/).setInputFiles({
        name: 'hello-bundle.tar',
        mimeType: 'application/x-tar',
        buffer: await signedBundleTar({ key, machineId }),
      });
      await page.getByLabel(/USB board/).check();
      await page.getByRole('button', { name: 'Connect and flash' }).click();
      const err = page.locator('.alert[role=alert]');
      await expect.poll(() => err.textContent(), { timeout: 30_000 }).toContain('in use by another program');
      expect(await err.textContent()).toContain('port_busy');
      await shot(page, '24-port-busy');
      // The same port, now opening but silent: a board that is not in download mode.
      await page.evaluate(() => {
        const w = window as unknown as { __silent: boolean };
        w.__silent = true;
      });
      await page.getByRole('button', { name: 'Connect and flash' }).click();
      await expect.poll(() => err.textContent(), { timeout: 90_000 }).toContain('did not answer in download mode');
      expect(await page.locator('.alert[role=alert] strong').first().textContent()).toBe(
        'The board is not in download mode',
      );
      await shot(page, '25-no-sync');
    } finally {
      await b.close();
    }
  });
});
