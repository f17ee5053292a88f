import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shot } from './support/shots';
import { signIn, startStack, type Stack } from './support/stack';

/**
 * A project kept in the browser, end to end: real API, a real build machine with real ESP-IDF v5.1.6 in the
 * bubblewrap sandbox, Chromium. Create from the hello_world template, build, flash the virtual board, edit one line
 * in the editor, see the diff, rebuild: a different app image, and the reflash writes only the sectors that changed.
 */
// A clean ESP-IDF build takes 40-80 s on 2 idle cores and more than 9 minutes while other suites build (load ~35).
const BUILD_MS = 1_080_000;
const TEST_MS = 1_200_000;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

let s: Stack;

beforeAll(async () => {
  // One build slot: a rebuild must not wait for the previous build's connection to go idle.
  s = await startStack({ machine: true, slots: 1 });
  await signIn(s);
});
afterAll(async () => {
  await s?.stop();
});

/** The sha256 of the app image (`hello_world.bin`) in the artifacts of the build on screen. */
async function appSha256(): Promise<string> {
  const rows = s.page.getByTestId('artifacts').locator('tbody tr');
  await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThan(3);
  const shas = new Set<string>();
  for (const row of await rows.all()) {
    const name = ((await row.locator('td[data-label="File"]').textContent()) ?? '').trim();
    if (/(^|\/)hello_world\.bin$/.test(name))
      shas.add((await row.locator('td[data-label="sha256"]').getAttribute('title')) ?? '');
  }
  // The build output and its copy in the bundle are the same image.
  expect(shas.size, [...shas].join(', ')).toBe(1);
  const [sha] = shas;
  expect(sha).toMatch(/^[0-9a-f]{64}$/);
  return sha;
}

interface PartWrite {
  part: string;
  /** Whole part written (no sector-diff), or only `sectors` changed sectors. */
  full: boolean;
  /** Sectors written, as a range: a full write's count comes from the part's size as shown (rounded). */
  min: number;
  max: number;
}

const UNIT = { B: 1, KiB: 1024, MiB: 1024 * 1024 } as const;

/** Flashes the build on screen onto this tab's virtual board and returns what was written, per part. */
async function flashVirtualBoard(step: string): Promise<PartWrite[]> {
  const { page } = s;
  await page.getByLabel(/Virtual board/).check();
  const result = page.getByTestId('flash-result');
  // The panel keeps showing this tab's previous flash until the new one is done: wait for a different result.
  const before = (await result.count()) ? await result.textContent() : null;
  await page.getByRole('button', { name: 'Flash the virtual board' }).click();
  await expect
    .poll(async () => ((await result.count()) ? await result.textContent() : null), { timeout: 120_000 })
    .toMatch(/Flashed and verified/);
  await expect.poll(() => result.textContent(), { timeout: 120_000 }).not.toBe(before);
  await shot(page, step);
  const parts: PartWrite[] = [];
  for (const li of await result.locator('li').allTextContents()) {
    const m = /^(\S+) @ 0x[0-9a-f]+: ([\d.]+) (B|KiB|MiB), (?:(written in full)|(\d+) changed sectors? written)/.exec(
      li,
    );
    expect(m, li).not.toBeNull();
    const [, part, size, unit, full, changed] = m!;
    if (full) {
      // formatBytes shows one or two decimals: the true size is within half a unit of the last digit.
      const bytes = Number(size) * UNIT[unit as keyof typeof UNIT];
      const slack = (unit === 'MiB' ? 0.005 : 0.05) * UNIT[unit as keyof typeof UNIT];
      parts.push({
        part,
        full: true,
        min: Math.ceil(Math.max(0, bytes - slack) / 4096),
        max: Math.ceil((bytes + slack) / 4096),
      });
    } else parts.push({ part, full: false, min: Number(changed), max: Number(changed) });
  }
  expect(parts.map((p) => p.part)).toEqual(['bootloader', 'partition-table', 'app']);
  return parts;
}

/** Waits for the build on screen to end; if it did not succeed, the failure says why (its error and last lines). */
async function waitSucceeded(step: string) {
  const state = s.page.getByTestId('job-state');
  await expect.poll(() => state.textContent(), { timeout: BUILD_MS }).toMatch(/^(succeeded|failed|canceled|expired)$/);
  if ((await state.textContent()) !== 'succeeded') {
    await shot(s.page, `${step}-failed`);
    const alerts = await s.page.getByRole('alert').allTextContents();
    const log = ((await s.page.getByTestId('log').textContent()) ?? '').slice(-3000);
    expect.fail(`The build ${await state.textContent()}: ${alerts.join(' | ')}\n${log}`);
  }
}

const line = (editor: Locator, text: string) => editor.locator('.cm-line', { hasText: text });

describe('a project kept in the browser: edit, rebuild, reflash only what changed', () => {
  let projectUrl = '';
  let firstJob = '';
  let firstSha = '';
  let firstFlash: PartWrite[] = [];

  it('creates a project from the hello_world template and opens its main file in the editor', async () => {
    const { page, web } = s;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.waitForURL(`${web.url}/projects`);
    await expect.poll(() => page.getByText('No projects in this browser yet').count()).toBe(1);
    await page.getByLabel('Template', { exact: true }).selectOption('hello_world');
    await expect.poll(() => page.getByLabel('Name', { exact: true }).inputValue()).toBe('hello_world');
    await expect.poll(() => page.getByLabel('Target', { exact: true }).inputValue()).toBe('esp32c3');
    await shot(page, '80-project-new');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID.source}$`));
    projectUrl = page.url();
    expect(await page.getByTestId('project-name').textContent()).toBe('hello_world');

    // The template's files (the shared ESP-IDF ones), main source opened first, C highlighted by CodeMirror.
    const tree = page.getByTestId('file-tree');
    for (const f of ['CMakeLists.txt', 'hello_world.c', '.espctl.toml']) expect(await tree.textContent()).toContain(f);
    expect(await page.getByTestId('open-file').textContent()).toBe('main/hello_world.c');
    const editor = page.getByTestId('code-editor');
    expect(await editor.getAttribute('data-language')).toBe('cpp');
    await expect.poll(() => line(editor, 'Hello world!').count()).toBe(1);
    // Highlighted: the string literal and the keyword are their own coloured spans.
    const str = line(editor, 'Hello world!').locator('span', { hasText: 'Hello world!' }).last();
    expect(await str.count()).toBe(1);
    const colour = await str.evaluate((e) => getComputedStyle(e).color);
    const plain = await line(editor, 'Hello world!').evaluate((e) => getComputedStyle(e).color);
    expect(colour).not.toBe(plain);
    expect(await page.getByTestId('changes').textContent()).toContain('Not built yet');
    await shot(page, '81-project-editor');

    // CMake gets its own highlighting.
    // Folders come first: the last CMakeLists.txt is the project's top one.
    await tree.getByRole('button', { name: 'CMakeLists.txt' }).last().click();
    await expect.poll(() => page.getByTestId('open-file').textContent()).toBe('CMakeLists.txt');
    expect(await page.getByTestId('code-editor').getAttribute('data-language')).toBe('cmake');
    await expect.poll(() => page.getByTestId('code-editor').locator('.cm-line span').count()).toBeGreaterThan(2);

    // Kept in the browser: a reload shows the same project.
    await page.reload();
    expect(await page.getByTestId('project-name').textContent()).toBe('hello_world');
  });

  it(
    'builds the project, flashes it onto the virtual board',
    async () => {
      const { page } = s;
      await page.getByRole('button', { name: 'Build', exact: true }).click();
      await page.waitForURL(new RegExp(`/builds/${UUID.source}$`), { timeout: 30_000 });
      firstJob = page.url().split('/').pop()!;
      // The build page names its project and links back.
      await expect.poll(() => page.getByTestId('build-project').textContent()).toContain('hello_world');
      await waitSucceeded('82-project-build');
      expect((await page.getByTestId('log').textContent()) ?? '').toContain('Linking CXX executable hello_world.elf');
      firstSha = await appSha256();
      await shot(page, '82-project-built');
      firstFlash = await flashVirtualBoard('83-project-flashed');
      // A fresh virtual board: everything is written.
      expect(firstFlash.every((p) => p.full)).toBe(true);
    },
    TEST_MS,
  );

  it('edits the printed string in the editor; the diff lists the changed file and its lines', async () => {
    const { page } = s;
    // Back to the project through the build page's link (no reload: the virtual board lives in this tab).
    await page.getByTestId('build-project').getByRole('link', { name: 'hello_world' }).click();
    await page.waitForURL(projectUrl);
    await expect.poll(() => page.getByTestId('no-changes').count()).toBe(1);
    const editor = page.getByTestId('code-editor');
    await expect.poll(() => line(editor, 'Hello world!').count()).toBe(1);
    // Caret to the end of the printf line, back before `!\n");`, select "world", type over it.
    await line(editor, 'Hello world!').click();
    await page.keyboard.press('End');
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowLeft');
    for (let i = 0; i < 5; i++) await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.type('aegis');
    await expect.poll(() => line(editor, 'Hello aegis!').count()).toBe(1);
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('saved');

    const changed = page.getByTestId('changed-files');
    await expect.poll(() => changed.textContent()).toBe('main/hello_world.c (modified)');
    const diff = page.getByTestId('line-diff');
    expect(await diff.locator('tr[data-kind="del"]').textContent()).toContain('printf("Hello world!\\n");');
    expect(await diff.locator('tr[data-kind="add"]').textContent()).toContain('printf("Hello aegis!\\n");');
    expect(await diff.locator('tr[data-kind="add"], tr[data-kind="del"]').count()).toBe(2);
    // The file tree marks it too.
    expect(
      await page
        .getByTestId('file-tree')
        .getByRole('button', { name: /hello_world\.c.*modified/ })
        .count(),
    ).toBe(1);
    await shot(page, '84-project-edited-diff');
  });

  it(
    'rebuilds: the new firmware differs, and the reflash writes only the sectors that changed',
    async () => {
      const { page } = s;
      await page.getByRole('button', { name: 'Rebuild', exact: true }).click();
      await page.waitForURL(
        (u) => UUID.test(u.pathname) && u.pathname.startsWith('/builds/') && !u.pathname.endsWith(firstJob),
        {
          timeout: 30_000,
        },
      );
      await waitSucceeded('85-project-rebuild');
      const secondSha = await appSha256();
      expect(secondSha).not.toBe(firstSha);
      await shot(page, '85-project-rebuilt');
      const second = await flashVirtualBoard('86-project-reflashed');
      // The bootloader and partition table did not change: the sector-diff writes none of their sectors.
      expect(second.slice(0, 2)).toEqual([
        { part: 'bootloader', full: false, min: 0, max: 0 },
        { part: 'partition-table', full: false, min: 0, max: 0 },
      ]);
      // "world" → "aegis" keeps every length: the app differs in the string, its descriptor and its hash, and
      // only those sectors are written.
      expect(second[2]).toMatchObject({ part: 'app', full: false });
      expect(second[2]!.max).toBeLessThan(firstFlash[2]!.min / 2);
      // So the reflash writes fewer sectors than the first flash, even at the most the app can have taken.
      const sum = (ps: PartWrite[], k: 'min' | 'max') => ps.reduce((n, p) => n + p[k], 0);
      expect(sum(second, 'max')).toBeLessThan(sum(firstFlash, 'min'));
    },
    TEST_MS,
  );

  it('shows the project in the build history, linked back; the project shows its builds and no changes', async () => {
    const { page } = s;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Builds', exact: true }).click();
    const rows = page.getByTestId('history').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('project-link').allTextContents()).toEqual(['hello_world', 'hello_world']);
    await shot(page, '87-history-with-project');
    await page.getByTestId('project-link').first().click();
    await page.waitForURL(projectUrl);
    await expect.poll(() => page.getByTestId('project-builds').locator('tbody tr').count()).toBe(2);
    await expect.poll(() => page.getByTestId('no-changes').count()).toBe(1);
    // The edit was kept.
    await expect.poll(() => line(page.getByTestId('code-editor'), 'Hello aegis!').count()).toBe(1);
    await shot(page, '88-project-after-rebuild');
  });
});
