import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  bootAppPartition,
  parsePartitionBinary,
  readAppImage,
  readBootloaderImage,
  verifyBundleFiles,
  verifyBundleManifest,
} from '@aegis/esp';
import { MachineListResponse, SpdxDocument } from '@aegis/protocol';
import { createMachineToken, createUser, realIdfStore, startApi, type StartedApi } from '@aegis/testkit';
import { startMachine, type StartedMachine } from '@aegis/testkit/machine';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFromDir } from '../src/flash/bundle-images.js';
import { renderTemplate } from '../src/project/templates.js';
import { call, espctlBin, newClient, readText, textOf } from './mcp-helpers.js';
import { startPtySim } from './support/pty-sim.js';

const runFile = promisify(execFile);

type Status = { task_id: string; job_id?: string; status: string; next_seq?: number; error?: { message: string } };
type Line = { seq: number; text: string };

/**
 * A clean build of real ESP-IDF hello_world takes 40-80 s on 2 idle cores (several times that on a loaded machine);
 * incremental ones a few seconds.
 */
const BUILD_TIMEOUT = 600_000;

let tmp: string;
let api: StartedApi;
let machine: StartedMachine;
let key: string;
let stdio: Client;

async function waitDone(client: Client, taskId: string, withinMs = BUILD_TIMEOUT - 20_000): Promise<Status> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const r = await call(client, 'build.status', { task_id: taskId });
    const s = r.structuredContent as Status;
    if (['succeeded', 'failed', 'canceled', 'expired'].includes(s.status)) return s;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`build ${taskId} did not finish within ${withinMs / 1000} s`);
}

/** The public key the machine signs its bundles with, as GET /machines publishes it. */
async function machineKey(): Promise<JWK> {
  const res = await fetch(`${api.url}/machines`, { headers: { authorization: `Bearer ${key}` } });
  const { machines } = MachineListResponse.parse(await res.json());
  const jwk = machines.find((m) => m.id === machine.machineId)?.bundle_public_jwk;
  if (!jwk) throw new Error('the machine published no bundle key');
  return jwk as JWK;
}

/**
 * A downloaded flash bundle checked end to end: the machine's signature over manifest.json, every part's sha256, and
 * the images parsed back by libs/esp (bootloader, partition table, app with its esp_app_desc).
 */
async function verifiedBundle(dir: string) {
  const manifestBytes = new Uint8Array(await readFile(path.join(dir, 'manifest.json')));
  const jws = (await readFile(path.join(dir, 'manifest.jws'), 'utf8')).trim();
  const manifest = await verifyBundleManifest(manifestBytes, jws, await machineKey());
  const files = new Map<string, Uint8Array>();
  for (const p of manifest.parts) files.set(p.file, new Uint8Array(await readFile(path.join(dir, p.file))));
  verifyBundleFiles(manifest, files);
  const part = (name: string) => {
    const p = manifest.parts.find((x) => x.name === name);
    if (!p) throw new Error(`the bundle has no ${name} part`);
    return { ...p, bytes: files.get(p.file)! };
  };
  const app = part('app');
  const image = readAppImage(app.bytes);
  const bootloader = readBootloaderImage(part('bootloader').bytes);
  const table = parsePartitionBinary(part('partition-table').bytes);
  return { manifest, app, image, bootloader, table };
}

/** Read the whole log in pages of `pageSize` through logs.tail + since_seq. */
async function pageLog(client: Client, taskId: string, pageSize: number): Promise<{ lines: Line[]; pages: number }> {
  const lines: Line[] = [];
  let since = 0;
  let pages = 0;
  for (;;) {
    const r = await call(client, 'logs.tail', { task_id: taskId, lines: pageSize, since_seq: since });
    expect(r.isError, textOf(r)).toBeFalsy();
    const p = r.structuredContent as { lines: Line[]; next_seq: number; more: boolean };
    lines.push(...p.lines);
    pages++;
    expect(p.next_seq).toBe(since + p.lines.length);
    since = p.next_seq;
    if (!p.more) return { lines, pages };
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-remote-'));
  // Real ESP-IDF v5.1.6 from the kit (provisioned once; a missing kit fails here, saying what to do).
  const root = realIdfStore();
  api = await startApi({ env: { AEGIS_RTC_INTERFACE: '127.0.0.1' } });
  key = await createUser(api.url, api.adminKey);
  const { token } = await createMachineToken(api.url, api.adminKey, 'espctl-e2e');
  machine = await startMachine({ apiUrl: api.url, token, jwksPath: api.jwksPath, storeRoot: root, sandbox: 'bwrap' });
  stdio = newClient();
  await stdio.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [espctlBin, 'mcp', 'serve'],
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
      stderr: 'pipe',
    }),
  );
}, 120_000);

afterAll(async () => {
  await stdio?.close();
  await machine?.stop();
  await api?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('remote build of real ESP-IDF driven only through MCP tools (stdio)', () => {
  let task: Status;
  const proj = () => path.join(tmp, 'remote_app');

  it(
    'project.create → doctor → build → status, with log subscription updates',
    async () => {
      let r = await call(stdio, 'project.create', {
        name: 'remote_app',
        template: 'hello_world',
        target: 'esp32c3',
        parent_dir: tmp,
      });
      expect(r.isError, textOf(r)).toBeFalsy();
      r = await call(stdio, 'doctor', { project_dir: proj() });
      const d = r.structuredContent as { status: string; checks: Array<{ name: string; status: string }> };
      expect(Object.fromEntries(d.checks.map((c) => [c.name, c.status]))).toMatchObject({
        control_plane_reachable: 'ok',
        key_accepted: 'ok',
        clock_skew: 'ok',
        project_parses: 'ok',
        store_present: 'ok',
        idf_version_available: 'ok',
      });
      r = await call(stdio, 'store_versions', {});
      expect(r.structuredContent).toMatchObject({ source: 'control-api', versions: [{ version: '5.1.6' }] });
      const targets = (r.structuredContent as { versions: Array<{ targets: string[] }> }).versions[0].targets;
      expect([...targets].sort()).toEqual(['esp32', 'esp32c3']);

      r = await call(stdio, 'build', { project_dir: proj() });
      expect(r.isError, textOf(r)).toBeFalsy();
      task = r.structuredContent as Status;
      expect(task.status).toBe('pending');
      let updates = 0;
      stdio.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        if (n.params.uri === `build://log/${task.task_id}`) updates++;
      });
      await stdio.subscribeResource({ uri: `build://log/${task.task_id}` });
      const done = await waitDone(stdio, task.task_id);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      task = done;
      expect(updates).toBeGreaterThan(0);
      await stdio.unsubscribeResource({ uri: `build://log/${task.task_id}` });
      // Real idf.py: CMake configured the ESP-IDF project and ninja linked the app.
      const log = await readText(stdio, `build://log/${task.task_id}`);
      expect(log).toMatch(/with ESP-IDF 5\.1\.6 in a bubblewrap sandbox/);
      expect(log).toMatch(/Linking CXX executable remote_app\.elf/);
      expect(log).not.toMatch(/test toolchain/i);
    },
    BUILD_TIMEOUT,
  );

  it('logs.tail pages with since_seq without gaps or repeats; the resource has the same log', async () => {
    const { lines, pages } = await pageLog(stdio, task.task_id, 3);
    expect(lines.length).toBeGreaterThan(5);
    expect(pages).toBeGreaterThan(2);
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: lines.length }, (_, i) => i));
    const status = (await call(stdio, 'build.status', { task_id: task.task_id })).structuredContent as Status;
    expect(status.next_seq).toBe(lines.length);
    expect(await readText(stdio, `build://log/${task.task_id}`)).toBe(lines.map((l) => l.text).join('\n'));
    expect(await readText(stdio, 'build://log/latest')).toBe(lines.map((l) => l.text).join('\n'));
    const tail = (await call(stdio, 'logs.tail', { task_id: task.task_id, lines: 2 })).structuredContent as {
      lines: Line[];
    };
    expect(tail.lines.map((l) => l.seq)).toEqual([lines.length - 2, lines.length - 1]);
    const parsed = await call(stdio, 'parse_build_errors', { task_id: task.task_id });
    // Real ESP-IDF warns (e.g. CMake's tool version check with this kit's compilers), but nothing is an error.
    const found = (parsed.structuredContent as { diagnostics: Array<{ severity: string }> }).diagnostics;
    expect(found.filter((x) => x.severity === 'error')).toEqual([]);
  });

  it('artifacts, manifest, size, diag, sbom on the finished build', async () => {
    const arts = (await call(stdio, 'list_artifacts', { task_id: task.task_id })).structuredContent as {
      artifacts: Array<{ name: string; kind: string }>;
    };
    expect(arts.artifacts.map((a) => a.kind)).toContain('elf');
    const alias = await call(stdio, 'artifacts.list', { task_id: task.job_id! });
    expect(alias.structuredContent).toEqual(arts);
    const m = (await call(stdio, 'artifacts.manifest', { task_id: task.task_id })).structuredContent as {
      manifest: { chip: string; project: string };
      jws: string;
    };
    expect(m.manifest).toMatchObject({ chip: 'esp32c3', project: 'remote_app' });
    expect(m.jws.split('.')).toHaveLength(3);
    const fw = (await call(stdio, 'firmware.list', { task_id: task.task_id })).structuredContent as {
      files: Array<{ kind: string }>;
    };
    expect(fw.files.map((f) => f.kind)).toContain('bundle-manifest');
    expect(fw.files.map((f) => f.kind)).not.toContain('elf');
    const size = await call(stdio, 'size.run', { task_id: task.task_id, detail: 'summary' });
    expect(size.isError, textOf(size)).toBeFalsy();
    type Summary = { flash: { used: number }; ram: { used: number; total?: number }; image_size?: number };
    const summary = (size.structuredContent as { summary?: Summary }).summary;
    // A real ESP-IDF hello_world: tens of KiB of flash code and data, DRAM of the C3 (a few hundred KiB) partly used.
    expect(summary?.flash.used).toBeGreaterThan(32 * 1024);
    expect(summary?.ram.used).toBeGreaterThan(4 * 1024);
    expect(summary?.ram.used).toBeLessThan(summary?.ram.total ?? Infinity);
    // Per archive and per object file: the machine runs idf.py size-components / size-files in the sandbox.
    type Row = { name: string; flash: number; ram: number };
    const comps = await call(stdio, 'size.run', { task_id: task.task_id, detail: 'components' });
    expect(comps.isError, textOf(comps)).toBeFalsy();
    const archives = (comps.structuredContent as { components?: Row[] }).components ?? [];
    // The archives of a real ESP-IDF build: the app's main component and IDF's own components.
    expect(archives.map((r) => r.name)).toEqual(
      expect.arrayContaining(['libmain.a', 'libesp_system.a', 'libfreertos.a', 'libesp_hw_support.a']),
    );
    expect(archives.length).toBeGreaterThan(20);
    expect(archives.every((r) => /^lib.+\.a$/.test(r.name) && r.flash + r.ram > 0)).toBe(true);
    const filesRun = await call(stdio, 'size.run', { task_id: task.task_id, detail: 'files' });
    expect(filesRun.isError, textOf(filesRun)).toBeFalsy();
    const objects = (filesRun.structuredContent as { files?: Row[] }).files ?? [];
    expect(objects.length).toBeGreaterThan(0);
    // ESP-IDF's own objects (.obj) and the toolchain libraries' (.o, e.g. newlib's), the app's among them.
    expect(objects.filter((r) => !/\.(obj|o)$/.test(r.name))).toEqual([]);
    expect(
      objects.some((r) => /remote_app\.c\.obj$/.test(r.name)),
      JSON.stringify(objects.slice(0, 5)),
    ).toBe(true);
    const total = (rows: Row[]) => rows.reduce((n, r) => n + r.flash, 0);
    expect(total(objects)).toBe(total(archives));
    const diag = await call(stdio, 'diag.run', { task_id: task.task_id });
    expect(diag.isError, textOf(diag)).toBeFalsy();
    // The machine's SPDX SBOM of the build: the app, its components, the toolchain and the images by sha256.
    const sbom = await call(stdio, 'sbom.create', { task_id: task.task_id });
    expect(sbom.isError, textOf(sbom)).toBeFalsy();
    const spdx = SpdxDocument.parse((sbom.structuredContent as { spdx: unknown }).spdx);
    expect(spdx.creationInfo.creators[0]).toMatch(/^Tool: aegis-machine-/);
    expect(spdx.packages.map((p) => p.name)).toEqual(
      expect.arrayContaining(['remote_app', 'esp-idf', 'main', 'riscv32-esp-elf-gcc']),
    );
    expect(spdx.packages.find((p) => p.name === 'esp-idf')?.versionInfo).toBe('5.1.6');
    const images = arts.artifacts.filter((a) => ['image', 'merged', 'elf'].includes(a.kind));
    expect(spdx.files.map((f) => f.fileName).sort()).toEqual(images.map((a) => `./${a.name}`).sort());
    // Without a task, the same generator on the local project: same packages, no images.
    const local = await call(stdio, 'sbom.create', { project_dir: proj() });
    const localSpdx = SpdxDocument.parse((local.structuredContent as { spdx: unknown }).spdx);
    expect(localSpdx.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['remote_app', 'main']));
    expect(localSpdx.files).toEqual([]);
    const art = await readText(stdio, 'build://artifacts/esp32c3');
    expect(JSON.parse(art).artifacts.length).toBe(arts.artifacts.length);
  });

  it('firmware.download and elf.download write sha256-checked files; the bundle verifies', async () => {
    const out = path.join(tmp, 'fw');
    const r = await call(stdio, 'firmware.download', { job_id: task.job_id!, output_dir: out });
    expect(r.isError, textOf(r)).toBeFalsy();
    const files = (r.structuredContent as { files: Array<{ name: string; path: string; sha256: string }> }).files;
    for (const f of files)
      expect(
        createHash('sha256')
          .update(await readFile(f.path))
          .digest('hex'),
      ).toBe(f.sha256);
    const { manifest, bundle } = await bundleFromDir(path.join(out, 'bundle'));
    expect(manifest.parts.map((p) => p.name)).toContain('app');
    expect(bundle.jws?.split('.')).toHaveLength(3);
    // Signed by the machine, every part intact, and the images are what ESP-IDF 5.1.6 writes for an ESP32-C3.
    const b = await verifiedBundle(path.join(out, 'bundle'));
    expect(b.manifest).toMatchObject({ chip: 'esp32c3', project: 'remote_app', idf_version: '5.1.6' });
    expect(b.image.header.chip).toBe('esp32c3');
    expect(b.image.checksum.valid).toBe(true);
    expect(b.image.sha256?.valid).toBe(true);
    expect(b.image.appDesc).toMatchObject({ projectName: 'remote_app', idfVersion: 'v5.1.6' });
    expect(b.app.offset).toBe(bootAppPartition(b.table.partitions)?.offset);
    expect(b.bootloader.header.chip).toBe('esp32c3');
    expect(b.bootloader.checksum.valid).toBe(true);
    expect(manifest.parts.find((p) => p.name === 'bootloader')?.offset).toBe(0);
    // A real app, not a stub: ESP-IDF's startup code and FreeRTOS make it well over 64 KiB.
    expect(b.app.bytes.length).toBeGreaterThan(64 * 1024);
    const elf = await call(stdio, 'elf.download', { job_id: task.job_id!, output_dir: out });
    const elfFile = (elf.structuredContent as { files: Array<{ path: string }> }).files[0];
    const elfBytes = await readFile(elfFile.path);
    expect(elfBytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    // esptool patched the ELF's sha256 into the image's app descriptor: this image was made from this ELF.
    expect(b.image.appDesc?.elfSha256).toBe(createHash('sha256').update(elfBytes).digest('hex'));
    // The size report matches the image that was built.
    const size = (await call(stdio, 'size.run', { task_id: task.task_id, detail: 'summary' })).structuredContent as {
      summary: { image_size?: number };
    };
    expect(size.summary.image_size).toBeGreaterThan(b.app.bytes.length * 0.9);
    expect(size.summary.image_size).toBeLessThanOrEqual(b.app.bytes.length);
  });

  it('build.cancel stops a running build', async () => {
    // A new project: a clean ESP-IDF build takes far longer than the few seconds the cancel needs to land.
    const files = renderTemplate('empty', 'slow_app', 'esp32c3');
    const r = await call(stdio, 'build', { files });
    const t = r.structuredContent as Status;
    for (let i = 0; i < 200; i++) {
      const s = (await call(stdio, 'build.status', { task_id: t.task_id })).structuredContent as Status;
      if (s.status === 'running') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const c = await call(stdio, 'build.cancel', { task_id: t.task_id });
    expect(c.isError, textOf(c)).toBeFalsy();
    const done = await waitDone(stdio, t.task_id);
    expect(done.status).toBe('canceled');
    const again = await call(stdio, 'build.cancel', { task_id: t.task_id });
    expect((again.structuredContent as Status).status).toBe('canceled');
  }, 60_000);

  it(
    'set_target.run on a finished build builds the same uploaded project for the ESP32 (Xtensa), on a new session',
    async () => {
      const r = await call(stdio, 'set_target.run', { task_id: task.task_id, target: 'esp32' });
      expect(r.isError, textOf(r)).toBeFalsy();
      const st = r.structuredContent as { task_id: string; status: string; target: string; previous_task_id: string };
      expect(st).toMatchObject({ target: 'esp32', previous_task_id: task.task_id });
      expect(st.task_id).not.toBe(task.task_id);
      expect(['assigned', 'running', 'succeeded']).toContain(st.status);
      const done = await waitDone(stdio, st.task_id);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(done).toMatchObject({ target: 'esp32' });
      expect(done.job_id).not.toBe(task.job_id);
      // The machine ran idf.py set-target for the new chip before building, and the Xtensa compiler built it.
      const log = await readText(stdio, `build://log/${st.task_id}`);
      expect(log).toMatch(/Setting target esp32\.|Target changes from esp32c3 to esp32\./);
      expect(log).toMatch(/xtensa-esp32-elf-gcc/);
      const m = (await call(stdio, 'artifacts.manifest', { task_id: st.task_id })).structuredContent as {
        manifest: { chip: string; project: string };
      };
      expect(m.manifest).toMatchObject({ chip: 'esp32', project: 'remote_app' });
      // The ESP32 bundle verifies and parses back: an ESP32 image, bootloader at 0x1000.
      const out = path.join(tmp, 'fw-esp32');
      const dl = await call(stdio, 'firmware.download', { job_id: done.job_id!, output_dir: out });
      expect(dl.isError, textOf(dl)).toBeFalsy();
      const b = await verifiedBundle(path.join(out, 'bundle'));
      expect(b.image.header.chip).toBe('esp32');
      expect(b.image.checksum.valid).toBe(true);
      expect(b.image.appDesc).toMatchObject({ projectName: 'remote_app', idfVersion: 'v5.1.6' });
      expect(b.manifest.parts.find((p) => p.name === 'bootloader')?.offset).toBe(0x1000);
      expect(b.bootloader.header.chip).toBe('esp32');
      // The first build is untouched: its firmware is still for the C3.
      const first = (await call(stdio, 'artifacts.manifest', { task_id: task.task_id })).structuredContent as {
        manifest: { chip: string };
      };
      expect(first.manifest.chip).toBe('esp32c3');
      const unknown = await call(stdio, 'set_target.run', { task_id: 'no-such-task', target: 'esp32c3' });
      expect(unknown.isError).toBe(true);
      expect(textOf(unknown)).toMatch(/^task_not_found: .+/);
    },
    BUILD_TIMEOUT,
  );

  it(
    'build with wait=true sends progress notifications and a failing build reports its error',
    async () => {
      // The same project with a syntax error in its source: the machine's incremental cache of remote_app means only
      // this file compiles (and fails), not the whole of ESP-IDF again.
      const files = renderTemplate('hello_world', 'remote_app', 'esp32c3');
      files['main/remote_app.c'] = '#include <stdio.h>\n\nvoid app_main(void)\n{\n    printf("x\\n")\n}\n';
      let progress = 0;
      const r = (await stdio.callTool({ name: 'build', arguments: { files, wait: true } }, undefined, {
        onprogress: () => progress++,
        resetTimeoutOnProgress: true,
        timeout: 120_000,
      })) as unknown as { structuredContent: Status; isError?: boolean };
      expect(r.structuredContent.status).toBe('failed');
      expect(progress).toBeGreaterThan(0);
      const diags = await call(stdio, 'parse_build_errors', { task_id: r.structuredContent.task_id });
      const d = diags.structuredContent as {
        diagnostics: Array<{ file: string; line?: number; severity: string; message: string }>;
      };
      // gcc's own diagnostic, on the line of the missing semicolon.
      const err = d.diagnostics.find((x) => x.severity === 'error' && x.file.endsWith('main/remote_app.c'));
      expect(err, JSON.stringify(d.diagnostics)).toBeDefined();
      expect(err?.line).toBe(5);
      expect(err?.message).toMatch(/expected ';'/);
      expect(r.structuredContent.error?.message).toMatch(/main\/remote_app\.c:5/);
      const dl = await call(stdio, 'firmware.download', {
        job_id: r.structuredContent.task_id,
        output_dir: path.join(tmp, 'x'),
      });
      expect(textOf(dl)).toMatch(/^build_not_succeeded: /);
    },
    BUILD_TIMEOUT,
  );
});

describe('remote build through the API /mcp (inline project) and the flash hand-off', () => {
  it(
    'builds inline, downloads base64 firmware, and hands flashing to a (simulated) dashboard',
    async () => {
      const c = newClient();
      await c.connect(
        new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${key}` } },
        }),
      );
      try {
        // The project built above after a small edit: the machine's cache of it makes this an incremental build.
        const files = renderTemplate('hello_world', 'remote_app', 'esp32c3');
        files['main/remote_app.c'] += '\n/* edited inline by the agent */\n';
        const r = await c.callTool({ name: 'build', arguments: { files, wait: true } }, undefined, {
          timeout: BUILD_TIMEOUT - 20_000,
        });
        const s = r.structuredContent as Status;
        expect(s.status, JSON.stringify(s)).toBe('succeeded');
        const dl = await call(c, 'firmware.download', { job_id: s.job_id! });
        expect(dl.isError, textOf(dl)).toBeFalsy();
        const f = (dl.structuredContent as { files: Array<{ name: string; sha256: string; content_base64: string }> })
          .files;
        for (const x of f)
          expect(createHash('sha256').update(Buffer.from(x.content_base64, 'base64')).digest('hex')).toBe(x.sha256);

        const h = { authorization: `Bearer ${key}` };
        await fetch(`${api.url}/flash-requests?status=pending`, { headers: h });
        const flash = call(c, 'flash.run', { job_id: s.job_id!, timeout_sec: 30 });
        let id: string | undefined;
        for (let i = 0; i < 100 && !id; i++) {
          const list = (await (await fetch(`${api.url}/flash-requests?status=pending`, { headers: h })).json()) as {
            requests: Array<{ id: string; job_id: string }>;
          };
          id = list.requests.find((x) => x.job_id === s.job_id)?.id;
          if (!id) await new Promise((res) => setTimeout(res, 100));
        }
        expect(id).toBeDefined();
        const bad = await fetch(`${api.url}/flash-requests/${id}/complete`, { method: 'POST', headers: h });
        expect(bad.status).toBe(409);
        expect(
          (await (await fetch(`${api.url}/flash-requests/${id}/confirm`, { method: 'POST', headers: h })).json())
            .status,
        ).toBe('confirmed');
        expect(
          (await (await fetch(`${api.url}/flash-requests/${id}/complete`, { method: 'POST', headers: h })).json())
            .status,
        ).toBe('done');
        const done = await flash;
        expect(done.structuredContent).toMatchObject({ method: 'dashboard', status: 'done', request_id: id });

        // The user declines the next one; another user never sees it and cannot act on it.
        const other = await createUser(api.url, api.adminKey);
        const declined = call(c, 'flash.run', { job_id: s.job_id!, timeout_sec: 30 });
        let id2: string | undefined;
        for (let i = 0; i < 100 && !id2; i++) {
          const list = (await (await fetch(`${api.url}/flash-requests?status=pending`, { headers: h })).json()) as {
            requests: Array<{ id: string }>;
          };
          id2 = list.requests[0]?.id;
          if (!id2) await new Promise((res) => setTimeout(res, 100));
        }
        const theirs = await fetch(`${api.url}/flash-requests?status=pending`, {
          headers: { authorization: `Bearer ${other}` },
        });
        expect(await theirs.json()).toEqual({ requests: [] });
        const steal = await fetch(`${api.url}/flash-requests/${id2}/confirm`, {
          method: 'POST',
          headers: { authorization: `Bearer ${other}` },
        });
        expect(steal.status).toBe(404);
        expect((await fetch(`${api.url}/flash-requests/${id2}/reject`, { method: 'POST', headers: h })).status).toBe(
          200,
        );
        const r2 = await declined;
        expect(r2.structuredContent).toMatchObject({ method: 'dashboard', status: 'rejected' });
        expect(textOf(r2)).toContain('declined');
      } finally {
        await c.close();
      }
    },
    BUILD_TIMEOUT,
  );

  it('never logged the key', () => {
    expect(api.output.join('\n')).not.toContain(key);
    expect(machine.output.join('\n')).not.toContain(key);
  });
});

describe('the espctl CLI against the same API and machine', () => {
  const cli = async (args: string[], cwd = tmp) => {
    try {
      const r = await runFile(process.execPath, [espctlBin, ...args], {
        cwd,
        timeout: BUILD_TIMEOUT - 20_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: tmp,
          XDG_CONFIG_HOME: path.join(tmp, 'cli-cfg'),
          ESPCTL_ALLOW_INSECURE: '1',
          AEGIS_RTC_INTERFACE: '127.0.0.1',
        },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };

  it(
    'login → project create → build --follow → status → logs → artifacts → download → size → flash --job',
    async () => {
      let r = await cli(['--json', 'login', '--token', key, '--server', api.url]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(key);
      // The same name as the project built through MCP: the machine's incremental cache keeps these builds short.
      r = await cli(['project', 'create', 'remote_app', '--target', 'esp32c3', '--dir', 'cli']);
      expect(r.code, r.stderr).toBe(0);

      r = await cli(['--json', 'build', '-C', 'cli/remote_app', '--follow']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const out = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const result = out.pop() as { job_id: string; status: string };
      expect(result.status).toBe('succeeded');
      expect(out.map((l) => l.seq)).toEqual(out.map((_, i) => i));

      r = await cli(['--json', 'status']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ id: result.job_id, state: 'succeeded' });
      r = await cli(['--json', 'logs', result.job_id]);
      const logLines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number });
      expect(logLines.map((l) => l.seq)).toEqual(out.map((_, i) => i));
      r = await cli(['--json', 'artifacts']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { artifacts: unknown[] }).artifacts.length).toBeGreaterThan(3);
      r = await cli(['--json', 'download', '-o', 'cli_fw']);
      expect(r.code, r.stderr).toBe(0);
      const dl = JSON.parse(r.stdout) as { files: Array<{ path: string; sha256: string }> };
      for (const f of dl.files)
        expect(
          createHash('sha256')
            .update(await readFile(f.path))
            .digest('hex'),
        ).toBe(f.sha256);
      r = await cli(['--json', 'size']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { summary: { flash: { used: number } } }).summary.flash.used).toBeGreaterThan(0);
      r = await cli(['--json', 'size', '--detail', 'components']);
      expect(r.code, r.stderr).toBe(0);
      const perLib = JSON.parse(r.stdout) as {
        detail: string;
        components: Array<{ name: string; flash: number; ram: number }>;
      };
      expect(perLib.detail).toBe('components');
      expect(perLib.components.map((c) => c.name)).toContain('libmain.a');
      const weights = perLib.components.map((c) => c.flash + c.ram);
      expect(weights).toEqual([...weights].sort((a, b) => b - a));
      // Without --json: a table, header first, then one row per archive.
      r = await cli(['size', '--detail', 'components']);
      expect(r.code, r.stderr).toBe(0);
      const rows = r.stdout.trim().split('\n');
      expect(rows[0]).toMatch(/^component\s+flash bytes\s+RAM bytes$/);
      expect(rows).toHaveLength(perLib.components.length + 1);
      const top = perLib.components[0]!;
      expect(rows[1]!.trim().split(/\s+/)).toEqual([top.name, String(top.flash), String(top.ram)]);
      r = await cli(['--json', 'cancel', '7d444840-9dc0-11d1-b245-5ffdce74fad2']);
      expect(r.code).toBe(7);
      expect(JSON.parse(r.stderr).error.code).toBe('job_not_found');

      // Without --follow the build keeps running on the machine; logs --follow reattaches and prints it to the end.
      r = await cli(['--json', 'build', '-C', 'cli/remote_app']);
      expect(r.code, r.stderr).toBe(0);
      const started = JSON.parse(r.stdout) as { job_id: string };
      r = await cli(['--json', 'logs', '--follow']);
      expect(r.code, r.stderr).toBe(0);
      const followed = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number });
      expect(followed.map((l) => l.seq)).toEqual(followed.map((_, i) => i));
      expect(followed.length).toBeGreaterThan(5);
      r = await cli(['--json', 'status', started.job_id]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ id: started.job_id, state: 'succeeded' });

      // Flash the job's bundle onto the simulated board: the signature is checked with the machine's key.
      const sim = startPtySim();
      try {
        r = await cli(['--json', 'flash', '--job', result.job_id, '-p', sim.path, '-b', '115200']);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ chip: 'esp32c3', verified: true, signature: 'verified' });
      } finally {
        sim.close();
      }
    },
    BUILD_TIMEOUT,
  );
});
