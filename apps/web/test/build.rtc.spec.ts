import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logMatches } from './log-view-search';
import { shot } from './support/shots';
import { makeZip } from './support/zip';
import { signIn, startStack, type Stack } from './support/stack';

let s: Stack;

/**
 * Every build here is real ESP-IDF v5.1.6 in the bubblewrap sandbox: a clean build of hello_world takes 40-80 s on 2
 * idle cores (several times that on a loaded machine); later builds of the same project use the machine's
 * incremental cache and take seconds.
 */
const BUILD_MS = 540_000;
const TEST_MS = 600_000;

beforeAll(async () => {
  // Two slots: a reattachment needs a free one while the first connection still holds its own.
  s = await startStack({ machine: true, slots: 2 });
  // A USB "board" for the monitor test: headless Chromium has no port chooser, so a page-level Web Serial shim
  // stands in. Opened, it prints whatever panic text the test put into window.__panicText.
  await s.browser.ctx.addInitScript(() => {
    const w = window as unknown as { __panicText?: string };
    const port = {
      readable: null as ReadableStream<Uint8Array> | null,
      writable: null as WritableStream<Uint8Array> | null,
      getInfo: () => ({ usbVendorId: 0x10c4, usbProductId: 0xea60 }),
      async open() {
        port.readable = new ReadableStream<Uint8Array>({
          start: (c) => {
            setTimeout(() => c.enqueue(new TextEncoder().encode(w.__panicText ?? '')), 50);
          },
        });
        port.writable = new WritableStream<Uint8Array>();
      },
      async close() {
        port.readable = null;
        port.writable = null;
      },
      async setSignals() {},
    };
    const serial = { requestPort: async () => port, getPorts: async () => [port] };
    Object.defineProperty(Navigator.prototype, 'serial', { get: () => serial, configurable: true });
  });
  await signIn(s);
});
afterAll(async () => {
  await s?.stop();
});

function findFile(dir: string, name: string): string {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory()) {
      try {
        return findFile(p, name);
      } catch {}
    }
  }
  throw new Error(`${name} not found under ${dir}`);
}

/** Writes a project folder and returns its path. */
function projectDir(name: string, files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), `${name}-`)), name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * The hello_world project after an edit that broke it (a missing semicolon on line 5). Same project name and target
 * as the template build above, so the machine's incremental cache has ESP-IDF built already and only this file
 * compiles, and fails.
 */
function brokenProjectZip(): Buffer {
  return makeZip({
    'broken/CMakeLists.txt':
      'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(hello_world)\n',
    'broken/main/CMakeLists.txt': 'idf_component_register(SRCS "broken_main.c" INCLUDE_DIRS ".")\n',
    // Its own uint8_t clashes with the toolchain's <stdint.h>: gcc's first error is in a toolchain header.
    'broken/main/broken_main.c':
      'typedef char uint8_t;\n#include <stdint.h>\n#include <stdio.h>\nvoid app_main(void) {\n    printf("x\\n")\n}\n',
    'broken/.espctl.toml': '[project]\nname = "hello_world"\n\n[build]\ntarget = "esp32c3"\n',
  });
}

/** Real ESP-IDF components, as `idf.py size-components` names their archives. */
const IDF_ARCHIVE = /^lib(esp_system|esp_hw_support|freertos|heap|hal|spi_flash|newlib|esp_rom|soc|log|c|gcc)\.a$/;

/**
 * The size chart of the build on screen, from real `idf.py size` data: the app's flash against its 1 MiB partition and
 * ESP-IDF's own components by name, biggest first, the rest summed.
 */
async function expectRealSizeChart() {
  const chart = s.page.getByTestId('size-chart');
  await expect.poll(() => chart.count(), { timeout: 20_000 }).toBe(1);
  // The app partition's size comes from the bundle's partition table, fetched right after the results.
  await expect
    .poll(() => chart.textContent(), { timeout: 10_000 })
    .toMatch(/Flash \(app partition\).*used of 1\.00 MiB/);
  const rows = chart.getByRole('row');
  await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(11);
  const names = await rows.locator('th').allTextContents();
  expect(names.filter((n) => IDF_ARCHIVE.test(n)).length, names.join(', ')).toBeGreaterThanOrEqual(4);
  // A real ESP-IDF app links dozens of archives: beyond the top 10 the rest are summed into one row.
  expect(Number(/^other \((\d+)\)$/.exec(names[10])?.[1])).toBeGreaterThan(10);
  const flashOfTop = ((await rows.first().locator('td.mono').textContent()) ?? '').split(' / ')[0];
  expect(flashOfTop).toMatch(/^\d+(\.\d)? KiB$/);
}

describe('a build from the browser, over WebRTC to a real build machine', () => {
  let jobId = '';

  it(
    'builds the hello_world template for the ESP32-C3 with a live log, timeline, size chart and artifacts',
    async () => {
      const { page, web } = s;
      await page.goto(`${web.url}/builds/new`);
      await page.getByLabel('Template', { exact: true }).selectOption('hello_world');
      await expect.poll(() => page.getByLabel('Target').inputValue()).toBe('esp32c3');
      await shot(page, '10-new-build');
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      jobId = page.url().split('/').pop()!;
      await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: BUILD_MS }).toBe('succeeded');
      // Real idf.py in the sandbox: ESP-IDF's CMake project for the C3, and ninja linking the app.
      expect(await logMatches(page, 'with ESP-IDF 5.1.6 in a bubblewrap sandbox')).toBeGreaterThan(0);
      expect(await logMatches(page, 'Linking CXX executable hello_world.elf')).toBeGreaterThan(0);
      expect(await logMatches(page, 'test toolchain')).toBe(0);
      expect(await logMatches(page, 'WITHOUT a sandbox')).toBe(0);
      await expect.poll(() => page.getByTestId('size-chart').count(), { timeout: 20_000 }).toBe(1);
      // The app partition's size comes from the bundle's partition table, fetched right after the results.
      await expect
        .poll(() => page.getByTestId('size-chart').textContent(), { timeout: 10_000 })
        .toMatch(/Flash \(app partition\).*used of 1\.00 MiB/);
      await expectRealSizeChart();
      await expect.poll(() => page.getByTestId('artifacts').locator('tbody tr').count()).toBeGreaterThan(0);
      expect(await page.getByTestId('artifacts').textContent()).toMatch(/[0-9a-f]{16}…/);
      // Search: the counter shows the current match of all matches.
      await page.getByLabel('Search the log').fill('hello_world.elf');
      await expect.poll(() => page.getByTestId('log-search-count').textContent()).toMatch(/^1 \/ [1-9]\d*$/);
      await page.getByLabel('Search the log').fill('');
      await shot(page, '11-build-succeeded');
    },
    TEST_MS,
  );

  it('opens a terminal into the job sandbox and runs a command', async () => {
    const { page } = s;
    await page.getByRole('button', { name: 'Open shell' }).click();
    const term = page.getByTestId('terminal');
    await expect.poll(() => term.locator('.xterm-rows').count(), { timeout: 20_000 }).toBe(1);
    await term.click();
    await page.keyboard.type('echo pty-$((6*7))\n');
    await expect.poll(() => term.locator('.xterm-rows').textContent(), { timeout: 20_000 }).toContain('pty-42');
    // Really inside the bubblewrap sandbox: its own hostname, uid 1000, the workspace at /ws, and none of the host's
    // /etc (the host has a shadow file and an os-release; the sandbox only a synthetic passwd and group).
    expect(existsSync('/etc/shadow') && existsSync('/etc/os-release')).toBe(true);
    await page.keyboard.type(
      'echo "where=$(uname -n):$(id -u):$(pwd | cut -d/ -f1-2):$(ls /etc/shadow /etc/os-release 2>/dev/null | wc -l)"\n',
    );
    await expect
      .poll(() => term.locator('.xterm-rows').textContent(), { timeout: 20_000 })
      .toContain('where=aegis-build:1000:/ws:0');
    // ESP-IDF is on the shell's PATH, read-only from the store.
    await page.keyboard.type('idf.py --version\n');
    await expect.poll(() => term.locator('.xterm-rows').textContent(), { timeout: 60_000 }).toContain('ESP-IDF v5.1.6');
    await shot(page, '12-terminal');
    await page.keyboard.type('exit\n');
    await expect.poll(() => page.getByText(/The shell exited/).count(), { timeout: 20_000 }).toBe(1);
    // No reload: Enter in the exited terminal opens a fresh shell in the same workspace.
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('terminal-state').textContent(), { timeout: 20_000 }).toMatch(/running/);
    await page.keyboard.type('echo reopened-$((6*8)) > again.txt; cat again.txt\n');
    await expect.poll(() => term.locator('.xterm-rows').textContent(), { timeout: 20_000 }).toContain('reopened-48');
    await page.keyboard.type('exit 5\n');
    await expect.poll(() => page.getByText(/The shell exited with code 5/).count(), { timeout: 20_000 }).toBe(1);
    // The button does the same, and the new shell sees what the previous one wrote.
    await page.getByRole('button', { name: 'Open shell' }).click();
    await expect.poll(() => page.getByTestId('terminal-state').textContent(), { timeout: 20_000 }).toMatch(/running/);
    await page.keyboard.type('echo third-$(cat again.txt)\n');
    await expect
      .poll(() => term.locator('.xterm-rows').textContent(), { timeout: 20_000 })
      .toContain('third-reopened-48');
    await shot(page, '12b-terminal-reopened');
    await page.keyboard.type('exit\n');
    await expect.poll(() => page.getByText(/The shell exited/).count(), { timeout: 20_000 }).toBe(1);
  }, 180_000);

  it('flashes the build onto the virtual board, verified, with the boot log in the monitor', async () => {
    const { page } = s;
    await page.getByLabel(/Virtual board/).check();
    await page.getByRole('button', { name: 'Flash the virtual board' }).click();
    const result = page.getByTestId('flash-result');
    await expect.poll(() => result.count(), { timeout: 60_000 }).toBe(1);
    expect(await result.textContent()).toMatch(
      /Flashed and verified[\s\S]*ESP32-C3[\s\S]*app @ 0x10000[\s\S]*MD5 verified/,
    );
    const monitor = page.getByTestId('monitor').locator('.xterm-rows');
    await expect.poll(() => monitor.textContent(), { timeout: 20_000 }).toContain('hello_world');
    // The simulated ROM read the real image's app descriptor.
    expect(await monitor.textContent()).toContain('v5.1.6');
    await shot(page, '13-flashed-monitor');
  }, 120_000);

  it('decodes a panic printed on the monitor into function, file and line with the build machine', async () => {
    const { page, machine } = s;
    // Where app_main really is in this build's ELF, so the panic points into our code.
    const elf = findFile(join(machine!.workDir, 'jobs', jobId), 'hello_world.elf');
    const nm = spawnSync('riscv64-unknown-elf-nm', [elf], { encoding: 'utf8' }).stdout;
    const appMain = /^([0-9a-f]{8}) T app_main$/m.exec(nm)?.[1];
    expect(appMain, nm.slice(0, 500)).toBeDefined();
    await page.evaluate((pc) => {
      (window as unknown as { __panicText: string }).__panicText =
        `Guru Meditation Error: Core  0 panic'ed (Load access fault). Exception was unhandled.\r\n` +
        `MEPC    : 0x${pc}  RA      : 0x${pc}  SP      : 0x3fc8f000  GP      : 0x3fc8c800\r\n`;
    }, appMain);
    await page.getByLabel(/USB board/).check();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByRole('button', { name: "Decode with the build's ELF" }).click();
    const frames = page.getByTestId('decoded-frames');
    await expect
      .poll(() => frames.textContent(), { timeout: 20_000 })
      .toMatch(/app_main at \S*main\/hello_world\w*\.c:\d+/);
    await shot(page, '13c-panic-decoded');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByLabel(/Virtual board/).check();
  });

  it("flashes only after the user confirms an agent's hand-off request, onto the board that holds the image", async () => {
    const { page, api, userKey } = s;
    // An AI agent calls flash.run through the API's MCP endpoint, with the user's key; it waits for the tab.
    const mcp = new Client({ name: 'agent', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${userKey}` } },
      }),
    );
    const call = mcp.callTool({ name: 'flash.run', arguments: { job_id: jobId, timeout_sec: 120 } }, undefined, {
      timeout: 120_000,
    });
    let id = '';
    await expect
      .poll(
        async () => {
          const r = await fetch(`${api.url}/flash-requests?status=pending`, {
            headers: { authorization: `Bearer ${userKey}` },
          });
          id = ((await r.json()) as { requests: { id: string }[] }).requests[0]?.id ?? '';
          return id;
        },
        { timeout: 15_000 },
      )
      .not.toBe('');
    // The open dashboard (still the build page, no reload) shows the request; nothing is flashed yet.
    const banner = page.getByTestId('handoff-banner');
    await expect.poll(() => banner.count(), { timeout: 15_000 }).toBe(1);
    await shot(page, '14-handoff-banner');
    await banner.getByRole('link', { name: 'Review' }).click();
    await page.waitForURL(/\/flash\?request=/);
    await page.getByRole('button', { name: 'Confirm and flash' }).click();
    const outcome = page.getByTestId('handoff-outcome');
    await expect
      .poll(() => outcome.textContent(), { timeout: 60_000 })
      .toContain('flashed and verified')
      .catch(async (e: unknown) => {
        await shot(page, '15-handoff-failed');
        throw e;
      });
    // Same tab, same virtual board: it already held this image, so the sector-diff wrote nothing.
    expect(await page.getByTestId('flash-result').textContent()).toMatch(
      /app @ 0x10000[^,]*, 0 changed sectors written/,
    );
    await shot(page, '15-handoff-flashed');
    const after = (await (
      await fetch(`${api.url}/flash-requests/${id}`, { headers: { authorization: `Bearer ${userKey}` } })
    ).json()) as { status: string };
    expect(after.status).toBe('done');
    // The agent's tool call returns once the dashboard reported the flash.
    const result = (await call) as { structuredContent?: { status?: string; method?: string } };
    expect(result.structuredContent).toMatchObject({ method: 'dashboard', status: 'done' });
    await mcp.close();
  });

  it(
    'shows a failing build with its compiler error linked to the line',
    async () => {
      const { page, web } = s;
      await page.goto(`${web.url}/builds/new`);
      await page.getByLabel('Upload a zip').check();
      await page
        .getByLabel('Project zip')
        .setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: brokenProjectZip() });
      await expect.poll(() => page.getByText(/files, .* ready to upload/).count()).toBe(1);
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: BUILD_MS }).toBe('failed');
      const diag = page.getByTestId('diagnostics');
      await expect.poll(() => diag.count(), { timeout: 10_000 }).toBe(1);
      // gcc's own diagnostic for the missing semicolon, linked to its file and line.
      expect(await diag.textContent()).toMatch(/expected ';' before '}' token/);
      // The first error listed and linked is the user's file, though gcc printed a toolchain header's error first;
      // that one keeps its include chain back to the user's #include.
      const link = diag.getByRole('link').first();
      expect(await link.textContent()).toMatch(/^main\/broken_main\.c:5:/);
      expect(await diag.getByTestId('include-chain').first().textContent()).toMatch(/main\/broken_main\.c:2$/);
      await link.click();
      // The link scrolled the log to the compiler's line and stopped following.
      await expect.poll(() => page.getByLabel('Follow').isChecked()).toBe(false);
      const inView = () =>
        page.getByTestId('log').evaluate((box) => {
          const line = [...box.querySelectorAll('[data-seq]')].find((e) =>
            /broken_main\.c:5:\d+: error: expected/.test(e.textContent ?? ''),
          );
          if (!line) return false;
          const a = box.getBoundingClientRect();
          const b = line.getBoundingClientRect();
          return b.top >= a.top && b.bottom <= a.bottom;
        });
      await expect.poll(inView).toBe(true);
      // The failed build's sandbox still has the project: menuconfig runs there.
      await page.getByRole('button', { name: 'idf.py menuconfig' }).click();
      await expect
        .poll(() => page.getByTestId('terminal').locator('.xterm-rows').textContent(), { timeout: 120_000 })
        .toContain('Espressif IoT Development Framework Configuration');
      await shot(page, '16-build-failed');
    },
    TEST_MS,
  );

  it('reattaches to a running build after a reload, follows it, and cancels it', async () => {
    const { page, web } = s;
    // CMake's configure step runs this project's execute_process: a build that takes long enough to cancel.
    const slow = projectDir('slow', {
      'CMakeLists.txt':
        'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nexecute_process(COMMAND sleep 60)\nproject(slow)\n',
      'main/CMakeLists.txt': 'idf_component_register(SRCS "main.c" INCLUDE_DIRS ".")\n',
      'main/main.c': 'void app_main(void) {}\n',
      '.espctl.toml': '[build]\ntarget = "esp32c3"\n',
    });
    await page.goto(`${web.url}/builds/new`);
    // This one comes as a folder (the directory picker), the broken one above as a zip.
    await page.getByLabel('Upload a folder').check();
    await page.getByLabel('Project folder').setInputFiles(slow);
    await expect.poll(() => page.getByText(/files, .* ready to upload/).count()).toBe(1);
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: 30_000 }).toBe('running');
    // A reload drops this tab's connection; the build goes on and the page offers to reattach.
    await page.reload();
    await page.getByRole('button', { name: 'Reattach' }).click();
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 30_000 }).toMatch(/\S/);
    expect(await page.getByTestId('job-state').textContent()).toBe('running');
    await page.getByRole('button', { name: 'Cancel build' }).click();
    await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: 30_000 }).toBe('canceled');
    await shot(page, '16b-build-canceled');
  }, 180_000);

  it(
    'builds the hello_world template for the ESP32 (Xtensa), with its size chart and artifacts',
    async () => {
      const { page, web } = s;
      await page.goto(`${web.url}/builds/new`);
      await page.getByLabel('Template', { exact: true }).selectOption('hello_world');
      await page.getByLabel('Target').selectOption('esp32');
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/, { timeout: 30_000 });
      await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: BUILD_MS }).toBe('succeeded');
      expect(await logMatches(page, 'Building hello_world for esp32 with ESP-IDF 5.1.6')).toBeGreaterThan(0);
      expect(await logMatches(page, 'xtensa-esp32-elf')).toBeGreaterThan(0);
      await expectRealSizeChart();
      // The signed bundle with the three images, the ELF and the merged image, each with its sha256.
      const artifacts = page.getByTestId('artifacts');
      await expect.poll(() => artifacts.locator('tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(5);
      const listed = (await artifacts.textContent()) ?? '';
      for (const name of ['bundle/manifest.jws', 'bootloader.bin', 'partition-table.bin', 'hello_world.bin'])
        expect(listed).toContain(name);
      expect(listed).toContain('hello_world.elf');
      expect(listed).toContain('merged.bin');
      await shot(page, '16c-esp32-built');
    },
    TEST_MS,
  );

  it('lists the builds in the history and reattaches to a finished one', async () => {
    const { page, web } = s;
    await page.goto(`${web.url}/builds`);
    const rows = page.getByTestId('history').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    expect(await page.getByTestId('history').textContent()).toMatch(/esp32(?!c)/);
    expect(await page.getByTestId('history').textContent()).toMatch(/succeeded[\s\S]*|failed/);
    await shot(page, '17-history');
    await page.goto(`${web.url}/builds/${jobId}`);
    await page.getByRole('button', { name: 'Open log and results' }).click();
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 30_000 }).toMatch(/\S/);
    await expectRealSizeChart();
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '18-build-phone');
    await page.goto(`${web.url}/builds`);
    await shot(page, '19-history-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
