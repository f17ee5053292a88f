import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createMachineToken, createUser, realIdfStore, startApi, type StartedApi } from '@aegis/testkit';
import { startMachine, type StartedMachine } from '@aegis/testkit/machine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/project/templates.js';
import { espctlBin, newClient, readText, textOf } from './mcp-helpers.js';

const runFile = promisify(execFile);

/**
 * The emulated board through MCP alone, over the API's `/mcp`: real ESP-IDF v5.1.6 builds on a real machine (bwrap
 * sandbox), then emulator.run boots them in the machine's QEMU. hello_world prints `Hello world!`; a null-pointer
 * app panics and the backtrace is decoded to the crashing function and line. The same through `espctl run`.
 */
/** A cold real ESP-IDF build takes 40 s idle and over 15 min on this shared 2-core box under load. */
const BUILD_TIMEOUT = 1_800_000;
const CALL = { timeout: 600_000 };

/** The null-pointer app of the serial fixtures, as the `main/` of the same project (the machine's cache applies). */
const CRASH_SOURCE = readFileSync(
  path.resolve(import.meta.dirname, '../../esp/test/fixtures/serial/apps/null_pointer_main.c'),
  'utf8',
);

type Status = { task_id: string; job_id?: string; status: string; error?: { message: string } };
type Frame = { address: string; function: string | null; file: string | null; line: number | null };
type EmuResult = {
  stopped_because: string;
  chip: string;
  pattern?: string;
  output: string;
  reboots: number;
  output_uri: string;
  panic?: { kind: string; arch: string; pc?: string; addresses: string[]; frames: Frame[] };
};

let tmp: string;
let api: StartedApi;
let machine: StartedMachine;
let key: string;
let otherKey: string;
let client: Client;

async function connectHttp(k: string): Promise<Client> {
  const c = newClient();
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${k}` } },
    }),
  );
  return c;
}

const tool = async (c: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> =>
  (await c.callTool({ name, arguments: args }, undefined, CALL)) as CallToolResult;

async function buildAndWait(files: Record<string, string>): Promise<Status> {
  const r = await tool(client, 'build', { files, target: 'esp32c3' });
  expect(r.isError, textOf(r)).toBeFalsy();
  const taskId = (r.structuredContent as Status).task_id;
  for (;;) {
    const s = (await tool(client, 'build.status', { task_id: taskId })).structuredContent as Status;
    if (['succeeded', 'failed', 'canceled', 'expired'].includes(s.status)) return s;
    await new Promise((res) => setTimeout(res, 500));
  }
}

function espctl(args: string[]) {
  return runFile(process.execPath, [espctlBin, ...args], {
    cwd: tmp,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      XDG_CONFIG_HOME: path.join(tmp, 'cfg'),
      CONTROL_BASE_URL: api.url,
      MCP_AUTH_SECRET: key,
      ESPCTL_ALLOW_INSECURE: '1',
      AEGIS_RTC_INTERFACE: '127.0.0.1',
    },
    maxBuffer: 16 << 20,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-emu-'));
  const root = realIdfStore();
  api = await startApi({ env: { AEGIS_RTC_INTERFACE: '127.0.0.1' } });
  key = await createUser(api.url, api.adminKey);
  otherKey = await createUser(api.url, api.adminKey);
  const { token } = await createMachineToken(api.url, api.adminKey, 'espctl-emulator-e2e');
  machine = await startMachine({ apiUrl: api.url, token, jwksPath: api.jwksPath, storeRoot: root, sandbox: 'bwrap' });
  client = await connectHttp(key);
}, 120_000);

afterAll(async () => {
  await client?.close();
  await machine?.stop();
  await api?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('the emulated board through MCP over /mcp (real ESP-IDF, real QEMU)', () => {
  let hello: Status;
  let crash: Status;

  it(
    'hello_world built through `build` prints "Hello world!" in emulator.run',
    async () => {
      hello = await buildAndWait(renderTemplate('hello_world', 'emu_app', 'esp32c3'));
      expect(hello.status, JSON.stringify(hello)).toBe('succeeded');
      const r = await tool(client, 'emulator.run', { task_id: hello.task_id, until: 'Hello world!', seconds: 300 });
      expect(r.isError, textOf(r)).toBeFalsy();
      const out = r.structuredContent as EmuResult;
      expect(out).toMatchObject({ stopped_because: 'pattern', pattern: 'Hello world!', chip: 'esp32c3', reboots: 0 });
      expect(out.output).toContain('Hello world!');
      // The ROM and the 2nd stage bootloader ran before the app: the real boot, not a stand-in.
      expect(out.output).toMatch(/ESP-ROM:esp32c3/);
      expect(out.output).toContain('boot: ESP-IDF v5.1.6 2nd stage bootloader');
      expect(await readText(client, out.output_uri)).toContain('Hello world!');
    },
    BUILD_TIMEOUT,
  );

  it(
    'a null-pointer app panics; the backtrace is decoded to the crashing function and line',
    async () => {
      crash = await buildAndWait({
        'CMakeLists.txt':
          'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(emu_app)\n',
        'main/CMakeLists.txt': 'idf_component_register(SRCS "crash_main.c" INCLUDE_DIRS ".")\n',
        'main/crash_main.c': CRASH_SOURCE,
      });
      expect(crash.status, JSON.stringify(crash)).toBe('succeeded');
      const r = await tool(client, 'emulator.run', { task_id: crash.task_id, until: 'Hello world!', seconds: 300 });
      expect(r.isError, textOf(r)).toBeFalsy();
      const out = r.structuredContent as EmuResult;
      expect(out.stopped_because).toBe('panic');
      expect(out.output).toContain("Guru Meditation Error: Core  0 panic'ed (Store access fault)");
      expect(out.panic).toMatchObject({ kind: 'Store access fault', arch: 'riscv' });
      const [first, second] = out.panic!.frames;
      // crash_main.c: line 7 writes through the pointer, line 14 is app_main's call.
      expect(first).toMatchObject({ address: out.panic!.pc, function: 'crash_write', line: 7 });
      expect(first.file).toMatch(/main\/crash_main\.c$/);
      // RA is looked up one byte back, inside the call: the line of the call, not the one after it.
      expect(second).toMatchObject({ address: out.panic!.addresses[1], function: 'app_main', line: 14 });
    },
    BUILD_TIMEOUT,
  );

  it('emulator.stop ends a run that would go on; its output is readable while it runs', async () => {
    const uri = `emulator://${hello.task_id}/output`;
    const runs = async () => (await readText(client, uri)).split('--- emulator run');
    const before = (await runs()).length;
    const running = tool(client, 'emulator.run', { task_id: hello.task_id, seconds: 300, max_reboots: 0 });
    // The earlier run's output is there too; wait for this run's own "Hello world!".
    for (let i = 0; i < 1200; i++) {
      const now = await runs();
      if (now.length > before && now.at(-1)!.includes('Hello world!')) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    const stop = await tool(client, 'emulator.stop', { task_id: hello.task_id });
    expect(stop.structuredContent).toMatchObject({ stopped: true });
    const out = (await running).structuredContent as EmuResult;
    expect(out.stopped_because).toBe('stopped');
    expect(out.output).toContain('Hello world!');
    const again = await tool(client, 'emulator.stop', { task_id: hello.task_id });
    expect(again.structuredContent).toMatchObject({ stopped: false });
  }, 600_000);

  it("another user cannot run someone else's build in the emulator", async () => {
    const other = await connectHttp(otherKey);
    try {
      const r = await tool(other, 'emulator.run', { task_id: hello.job_id!, until: 'Hello world!', seconds: 10 });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/not.?found/i);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('espctl run --emulator: exit 0 on the pattern, 11 on the panic with the decoded frame', async () => {
    let r = await espctl(['run', '--emulator', '--job', hello.job_id!, '--until', 'Hello world!', '--seconds', '300']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Hello world!');
    r = await espctl(['run', '--emulator', '--job', crash.job_id!, '--until', 'Hello world!', '--seconds', '300']);
    expect(r.code, r.stderr).toBe(11);
    expect(r.stdout).toMatch(/: crash_write at \S*main\/crash_main\.c:7/);
  }, 600_000);
});
