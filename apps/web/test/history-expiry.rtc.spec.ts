import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZip } from './support/zip';
import { signIn, startStack, type Stack } from './support/stack';

let s: Stack;

/** Real ESP-IDF in the sandbox: this project's CMake stops at once, so the build fails within seconds of starting. */
const BUILD_MS = 300_000;
/** Results are kept 3 s after their last use; the machine sweeps every 30 s and reports at its next heartbeat. */
const EXPIRY_MS = 120_000;

beforeAll(async () => {
  s = await startStack({ machine: true, slots: 1, machineEnv: { AEGIS_RESULTS_RETENTION_MINS: '0.05' } });
  await signIn(s);
}, 180_000);
afterAll(async () => {
  await s?.stop();
});

/** An ESP-IDF project whose top-level CMakeLists.txt stops the configure step: a real build that fails fast. */
function failingProjectZip(): Buffer {
  return makeZip({
    'stops/CMakeLists.txt':
      'cmake_minimum_required(VERSION 3.16)\nmessage(FATAL_ERROR "this project stops on purpose")\n' +
      'include($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(stops)\n',
    'stops/main/CMakeLists.txt': 'idf_component_register(SRCS "main.c" INCLUDE_DIRS ".")\n',
    'stops/main/main.c': 'void app_main(void) {}\n',
  });
}

describe('a build whose results the machine deleted (retention)', () => {
  it(
    'says so in the history and on the build page, and the link starts a new build',
    async () => {
      const { page, web } = s;
      await page.goto(`${web.url}/builds/new`);
      await page.getByLabel('Upload a zip').check();
      await page
        .getByLabel('Project zip')
        .setInputFiles({ name: 'stops.zip', mimeType: 'application/zip', buffer: failingProjectZip() });
      await expect.poll(() => page.getByText(/files, .* ready to upload/).count()).toBe(1);
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      const jobId = page.url().split('/').pop()!;
      await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: BUILD_MS }).toBe('failed');
      // Nothing says the results are gone while they are there.
      expect(await page.getByTestId('results-expired').count()).toBe(0);

      // Leaving the page (a full load) ends its connection, so the results are unused from now on.
      await page.goto(`${web.url}/builds`);
      const row = page.getByTestId('history').locator('tr', { has: page.locator(`a[href="/builds/${jobId}"]`) });
      await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
      const note = row.getByTestId('results-expired');
      await expect.poll(() => note.count(), { timeout: EXPIRY_MS }).toBe(1);
      expect(await note.textContent()).toMatch(/^Results deleted .+ · build again from the same source$/);
      expect(await row.locator('.badge').textContent()).toBe('failed');

      await page.goto(`${web.url}/builds/${jobId}`);
      const detail = page.getByTestId('results-expired');
      await expect.poll(() => detail.count(), { timeout: 30_000 }).toBe(1);
      expect(await detail.textContent()).toMatch(/Results deleted .+ build again from the same source/);
      // Reattaching would find nothing: the page does not offer it.
      expect(await page.getByRole('button', { name: /Open log and results|Reattach/ }).count()).toBe(0);

      await detail.getByRole('link', { name: 'build again from the same source' }).click();
      await page.waitForURL(`${web.url}/builds/new`, { timeout: 30_000 });
      await page.getByLabel('Upload a zip').check();
      await page
        .getByLabel('Project zip')
        .setInputFiles({ name: 'stops.zip', mimeType: 'application/zip', buffer: failingProjectZip() });
      await expect.poll(() => page.getByText(/files, .* ready to upload/).count()).toBe(1);
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      const again = page.url().split('/').pop()!;
      expect(again).not.toBe(jobId);
      await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: BUILD_MS }).toBe('failed');
    },
    BUILD_MS * 2 + EXPIRY_MS + 60_000,
  );
});
