import { createMachineToken } from '@aegis/testkit';
import type { BundleSigner } from '@aegis/testkit/flash-bundle';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedBundleTar, signingKey } from './support/bundle';
import { launchDashboardBrowser } from './support/chromium';
import { shot } from './support/shots';
import { signIn, startStack, type Stack } from './support/stack';

/**
 * The Flash page's own tools, against the real API and the virtual board (libs/device-sim in a Web Worker): the
 * signature checked by the JWS kid against GET /machines/keys, DIY mode, erase, read-back, and Cancel while the
 * port chooser is open or the board connects.
 */
let s: Stack;
let key: BundleSigner;

beforeAll(async () => {
  s = await startStack({ machine: false });
  key = await signingKey('bundle-test-kid-1');
  // A machine that announced its bundle-signing key in its heartbeat, as real machines do.
  const m = await createMachineToken(s.api.url, s.api.adminKey, 'signer');
  const hb = await fetch(`${s.api.url}/agents/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${m.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      v: 1,
      name: 'signer',
      agent_version: 'test',
      capacity: { total_slots: 1, free_slots: 1, cpu_cores: 1, memory_mb: 1024 },
      idf_versions: ['5.1.6'],
      targets: ['esp32c3'],
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

/** Reads a range of the board's flash through the page's "Read flash to a file" and returns the downloaded bytes. */
async function readBack(page: Page, offset: number, length: number): Promise<Uint8Array> {
  const tools = page.getByTestId('board-tools');
  if ((await tools.getAttribute('open')) === null) await tools.locator('summary').click();
  await page.getByLabel('Read from (hex)').fill(`0x${offset.toString(16)}`);
  await page.getByLabel('Length (hex)').fill(`0x${length.toString(16)}`);
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    page.getByRole('button', { name: 'Read flash to a file' }).click(),
  ]);
  return new Uint8Array(readFileSync((await dl.path())!));
}

const bundleFile = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/x-tar', buffer });

describe('the signature, checked by the key its JWS kid names', () => {
  it('finds the signing machine by kid (not by the manifest), and flashes verified', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/flash`);
    // The manifest names some other machine id: only the JWS kid picks the key.
    const tar = await signedBundleTar({ key, machineId: randomUUID() });
    await page.getByLabel(/Flash bundle/).setInputFiles(bundleFile('hello.tar', tar));
    const status = page.getByTestId('signature-status');
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toMatch(/Signed by build machine signer/);
    expect(await status.textContent()).toContain('bundle-test-kid-1');
    expect(await page.getByLabel(/Flash without checking/).count()).toBe(0);
    await page.getByLabel(/Virtual board/).check();
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    await expect
      .poll(() => page.getByTestId('flash-result').textContent(), { timeout: 60_000 })
      .toContain('Flashed and verified');
    await shot(page, '60-signature-by-kid');
  });

  it('refuses a bundle whose kid no machine has published; flashing it stays an explicit choice', async () => {
    const { page } = s;
    const stranger = await signingKey('bundle-unknown-kid');
    await page
      .getByLabel(/Flash bundle/)
      .setInputFiles(bundleFile('other.tar', await signedBundleTar({ key: stranger, machineId: randomUUID() })));
    const refused = page.getByTestId('signature-refused');
    await expect
      .poll(() => refused.textContent(), { timeout: 20_000 })
      .toMatch(/Refused: the signature cannot be checked/);
    expect(await refused.textContent()).toMatch(/bundle-unknown-kid.*no build machine you can use has published/);
    const flashButton = page.getByRole('button', { name: 'Flash the virtual board' });
    expect(await flashButton.isDisabled()).toBe(true);
    await page.getByLabel(/Flash without checking/).check();
    expect(await flashButton.isDisabled()).toBe(false);
    await page.getByLabel(/Flash without checking/).uncheck();
    await shot(page, '61-unknown-kid-refused');
  });

  it('refuses a signature that does not verify with the named key, writing nothing', async () => {
    const { page } = s;
    // Same kid as the published key, different private key: a forged signature.
    const forger = await signingKey('bundle-test-kid-1');
    await page
      .getByLabel(/Flash bundle/)
      .setInputFiles(
        bundleFile('forged.tar', await signedBundleTar({ key: forger, machineId: randomUUID(), seed: 3 })),
      );
    await expect
      .poll(() => page.getByTestId('signature-status').textContent(), { timeout: 20_000 })
      .toMatch(/Signed by build machine signer/);
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const err = page.locator('.alert[role=alert]');
    await expect
      .poll(() => err.textContent(), { timeout: 30_000 })
      .toMatch(/Refused: the signature does not match this bundle/);
    expect(await err.textContent()).toMatch(/Nothing was written/);
    expect(await err.textContent()).toContain('bad_signature');
    await shot(page, '62-bad-signature-refused');
  });
});

describe('DIY mode, erase and read-back on the virtual board', () => {
  const a = randomBytes(0x3000);
  const b = randomBytes(0x1800);

  it('flashes two .bin files at their offsets for the detected chip; they read back equal', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/flash`);
    await page.getByLabel(/DIY: .bin files/).check();
    await page.getByLabel(/Virtual board/).check();
    await page.getByRole('button', { name: 'Detect chip' }).click();
    await expect.poll(() => page.getByTestId('diy-chip').textContent(), { timeout: 30_000 }).toMatch(/ESP32-C3.*4 MB/);
    await page.getByLabel('Add .bin files').setInputFiles([
      { name: 'data-a.bin', mimeType: 'application/octet-stream', buffer: a },
      { name: 'data-b.bin', mimeType: 'application/octet-stream', buffer: b },
    ]);
    // A misaligned offset, then one past the end of the 4 MB flash, then an overlap: each named, flash refused.
    const problems = page.getByTestId('diy-problems');
    await page.getByLabel('Offset of data-a.bin').fill('0x100800');
    await page.getByLabel('Offset of data-b.bin').fill('0x3ff000');
    await expect
      .poll(() => problems.textContent())
      .toMatch(/data-a\.bin: 0x100800 is not on a 4 KiB sector boundary.*data-b\.bin ends at 0x400800, beyond/);
    expect(await page.getByRole('button', { name: 'Flash the virtual board' }).isDisabled()).toBe(true);
    await page.getByLabel('Offset of data-a.bin').fill('0x100000');
    await page.getByLabel('Offset of data-b.bin').fill('0x102000');
    await expect.poll(() => problems.textContent()).toMatch(/data-a\.bin .* and data-b\.bin .* overlap/);
    await shot(page, '63-diy-offsets-refused');
    await page.getByLabel('Offset of data-b.bin').fill('0x200000');
    await expect.poll(() => problems.count()).toBe(0);
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const result = page.getByTestId('flash-result');
    await expect.poll(() => result.textContent(), { timeout: 60_000 }).toContain('Flashed and verified');
    expect(await result.textContent()).toMatch(/data-a\.bin @ 0x100000.*data-b\.bin @ 0x200000/s);
    await shot(page, '64-diy-flashed');
    expect(Buffer.from(await readBack(page, 0x100000, a.length)).equals(a)).toBe(true);
    expect(Buffer.from(await readBack(page, 0x200000, b.length)).equals(b)).toBe(true);
    await expect.poll(() => page.getByTestId('board-op-result').textContent()).toMatch(/Read 6\.0 KiB from 0x200000/);
  });

  it('erases the whole flash after a confirmation; everything reads back 0xFF', async () => {
    const { page } = s;
    await page.getByRole('button', { name: 'Erase flash…' }).click();
    const confirm = page.getByTestId('erase-confirm');
    expect(await confirm.textContent()).toMatch(/Every byte becomes 0xFF/);
    await shot(page, '65-erase-confirm');
    // "Keep it" changes nothing.
    await page.getByRole('button', { name: 'Keep it' }).click();
    expect(await confirm.count()).toBe(0);
    expect(Buffer.from(await readBack(page, 0x100000, 0x1000)).equals(a.subarray(0, 0x1000))).toBe(true);
    await page.getByRole('button', { name: 'Erase flash…' }).click();
    await page.getByRole('button', { name: 'Erase everything' }).click();
    await expect
      .poll(() => page.getByTestId('board-op-result').textContent(), { timeout: 60_000 })
      .toMatch(/Flash erased: ESP32-C3.*4 MB now all 0xFF/);
    await shot(page, '66-erased');
    for (const [at, len] of [
      [0x100000, a.length],
      [0x200000, b.length],
      [0, 0x1000],
    ]) {
      const back = await readBack(page, at, len);
      expect(back.length).toBe(len);
      expect(back.every((x) => x === 0xff)).toBe(true);
    }
  });
});

describe('Connect and flash over Web Serial can be cancelled', () => {
  it('while the port chooser is open, and while the board connects', async () => {
    const br = await launchDashboardBrowser();
    try {
      // The chooser never closes by itself (the user walked away); once __choose is set it hands out a port that
      // opens but never answers (a board not in download mode), so the connect attempts go on until cancelled.
      await br.ctx.addInitScript(() => {
        const w = window as unknown as { __choose?: boolean; __asked: number };
        w.__asked = 0;
        const port = {
          readable: null as ReadableStream<Uint8Array> | null,
          writable: null as WritableStream<Uint8Array> | null,
          getInfo: () => ({ usbVendorId: 0x10c4, usbProductId: 0xea60 }),
          open: async () => {
            port.readable = new ReadableStream<Uint8Array>();
            port.writable = new WritableStream<Uint8Array>();
          },
          close: async () => {
            port.readable = null;
            port.writable = null;
          },
          setSignals: async () => {},
        };
        const serial = {
          requestPort: () => {
            w.__asked++;
            return w.__choose ? Promise.resolve(port) : new Promise<never>(() => {});
          },
          getPorts: async () => [],
        };
        Object.defineProperty(Navigator.prototype, 'serial', { get: () => serial, configurable: true });
      });
      const page = br.ctx.pages()[0] ?? (await br.ctx.newPage());
      await page.goto(`${s.web.url}/signin`);
      await page.getByLabel('API key').fill(s.userKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${s.web.url}/builds`);
      await page.goto(`${s.web.url}/flash`);
      await page
        .getByLabel(/Flash bundle/)
        .setInputFiles(bundleFile('hello.tar', await signedBundleTar({ key, machineId: randomUUID() })));
      await expect
        .poll(() => page.getByTestId('signature-status').textContent(), { timeout: 20_000 })
        .toMatch(/Signed by/);
      await page.getByLabel(/USB board/).check();
      const go = page.getByRole('button', { name: 'Connect and flash' });
      await go.click();
      const step = page.getByTestId('board-step');
      await expect.poll(() => step.textContent(), { timeout: 20_000 }).toMatch(/Choose the board’s port/);
      expect(await page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1);
      await shot(page, '67-port-chooser-pending');
      await step.getByRole('button', { name: 'Cancel' }).click();
      const cancelled = page.getByTestId('board-cancelled');
      await expect
        .poll(() => cancelled.textContent())
        .toMatch(/Cancelled while choosing the port; nothing was written/);
      expect(await step.count()).toBe(0);
      expect(await go.isDisabled()).toBe(false);
      await shot(page, '68-port-chooser-cancelled');

      // Now a port is chosen, but the board never answers: Cancel while connecting frees the page at once.
      await page.evaluate(() => {
        (window as unknown as { __choose: boolean }).__choose = true;
      });
      await go.click();
      await expect.poll(() => step.textContent(), { timeout: 20_000 }).toMatch(/Connecting to the board/);
      await step.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => cancelled.textContent()).toMatch(/Cancelled while connecting; nothing was written/);
      expect(await go.isDisabled()).toBe(false);
      expect(await page.locator('.alert[role=alert]').count()).toBe(0);
      await shot(page, '69-connect-cancelled');
    } finally {
      await br.close();
    }
  }, 120_000);
});
