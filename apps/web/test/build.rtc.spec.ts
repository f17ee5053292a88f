import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shot } from './support/shots';
import { signIn, startStack, type Stack } from './support/stack';

let s: Stack;

beforeAll(async () => {
  s = await startStack({ machine: true });
  await signIn(s);
});
afterAll(async () => {
  await s?.stop();
});

function brokenProjectZip(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'broken-'));
  mkdirSync(join(dir, 'broken/main'), { recursive: true });
  writeFileSync(
    join(dir, 'broken/CMakeLists.txt'),
    'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(broken)\n',
  );
  writeFileSync(join(dir, 'broken/main/CMakeLists.txt'), 'idf_component_register(SRCS "main.c" INCLUDE_DIRS ".")\n');
  writeFileSync(
    join(dir, 'broken/main/main.c'),
    '#include <stdio.h>\n\nvoid app_main(void)\n{\n    printf("x\\n")\n}\n',
  );
  writeFileSync(join(dir, 'broken/.espctl.toml'), '[build]\ntarget = "esp32c3"\n');
  expect(spawnSync('zip', ['-qr', 'p.zip', 'broken'], { cwd: dir }).status).toBe(0);
  return readFileSync(join(dir, 'p.zip'));
}

describe('a build from the browser, over WebRTC to a real build machine', () => {
  let jobId = '';

  it('builds the hello_world template with a live log, timeline, size chart and artifacts', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/builds/new`);
    await page.getByLabel('Template', { exact: true }).selectOption('hello_world');
    await expect.poll(() => page.getByLabel('Target').inputValue()).toBe('esp32c3');
    await shot(page, '10-new-build');
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    jobId = page.url().split('/').pop()!;
    await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: 90_000 }).toBe('succeeded');
    const log = (await page.getByTestId('log').textContent()) ?? '';
    expect(log.length).toBeGreaterThan(50);
    await expect.poll(() => page.getByTestId('size-chart').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('size-chart').textContent()).toMatch(/Flash \(app\).*used/);
    await expect.poll(() => page.getByTestId('artifacts').locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('artifacts').textContent()).toMatch(/[0-9a-f]{16}…/);
    await shot(page, '11-build-succeeded');
  });

  it('opens a terminal into the job sandbox and runs a command', async () => {
    const { page } = s;
    await page.getByRole('button', { name: 'Open shell' }).click();
    const term = page.getByTestId('terminal');
    await expect.poll(() => term.locator('.xterm-rows').count(), { timeout: 20_000 }).toBe(1);
    await term.click();
    await page.keyboard.type('echo pty-$((6*7))\n');
    await expect.poll(() => term.locator('.xterm-rows').textContent(), { timeout: 20_000 }).toContain('pty-42');
    await shot(page, '12-terminal');
  });

  it('shows a failing build with its compiler error linked to the line', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/builds/new`);
    await page.getByLabel('Upload a zip').check();
    await page
      .getByLabel('Project zip')
      .setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: brokenProjectZip() });
    await expect.poll(() => page.getByText(/files, .* ready to upload/).count()).toBe(1);
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: 90_000 }).toBe('failed');
    const diag = page.getByTestId('diagnostics');
    await expect.poll(() => diag.count(), { timeout: 10_000 }).toBe(1);
    const link = diag.getByRole('link', { name: /main\/main\.c:\d+/ }).first();
    expect(await link.textContent()).toMatch(/main\/main\.c:[56]/);
    await link.click();
    await shot(page, '13-build-failed');
  });

  it('lists both builds in the history and reattaches to the finished one', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/builds`);
    const rows = page.getByTestId('history').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.getByTestId('history').textContent()).toMatch(/succeeded[\s\S]*|failed/);
    await shot(page, '14-history');
    await page.goto(`${web.url}/builds/${jobId}`);
    await page.getByRole('button', { name: 'Open log and results' }).click();
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 30_000 }).toMatch(/\S/);
    await expect.poll(() => page.getByTestId('size-chart').count(), { timeout: 20_000 }).toBe(1);
  });
});
