import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SpdxDocument } from '@aegis/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  here,
  readText,
  espctlBin,
  INSTALL_URIS,
  newClient,
  noNetworkPreload,
  PROMPT_NAMES,
  textOf,
  TOOL_NAMES,
} from './mcp-helpers.js';

let tmp: string;
let proj: string;
let store: string;
let client: Client;
let stderr = '';

const PLAN_ONLY_TOOLS: Array<[string, Record<string, unknown>]> = [
  ['build.status', { task_id: 'abc' }],
  ['build.cancel', { task_id: 'abc' }],
  ['set_target.run', { task_id: 'abc', target: 'esp32c3' }],
  ['logs.tail', { task_id: 'abc', lines: 10, since_seq: 0 }],
  ['list_artifacts', { task_id: 'abc' }],
  ['artifacts.list', { task_id: 'abc' }],
  ['artifacts.manifest', { task_id: 'abc' }],
  ['firmware.list', { task_id: 'abc' }],
  ['firmware.download', { job_id: 'abc', output_dir: 'fw' }],
  ['elf.download', { job_id: 'abc', output_dir: 'fw' }],
  ['size.run', { task_id: 'abc', detail: 'components' }],
  ['diag.run', { task_id: 'abc' }],
  ['emulator.run', { task_id: 'abc', until: 'Hello world!' }],
  ['emulator.stop', { task_id: 'abc' }],
];

/** One invalid call per tool: a wrong type, a missing required field or a value outside its enum. */
const INVALID: Record<string, Record<string, unknown>> = {
  build: { target: 'esp99' },
  'build.start': { profile: 'fast' },
  'build.status': {},
  'build.cancel': { task_id: 42 },
  'set_target.run': { task_id: 'a', target: 'z80' },
  generate_build_plan: { clean: 'yes' },
  get_clean_plan: { full: 'no' },
  'project.init': { target: 'esp8266' },
  'project.create': { name: '1bad name', template: 'hello_world' },
  'project.create_component': { name: '../evil' },
  set_target: { target: 'x' },
  validate_config: { files: 'not-a-map' },
  idf_select_version: { version: '../../etc' },
  'idf.select_version': {},
  store_versions: { extra: true },
  'idf.versions': { target: 'esp8266' },
  doctor: { project_dir: 7 },
  'doctor.run': { files: [1, 2] },
  'logs.tail': { task_id: 'a', lines: 0 },
  list_artifacts: {},
  'artifacts.list': { task_id: '' },
  'artifacts.manifest': {},
  parse_build_errors: { log: 5 },
  parse_size_report: { report: '' },
  'firmware.list': {},
  'firmware.download': { output_dir: 'x' },
  'elf.download': {},
  'flash.run': { firmware_path: 'a.bin', port: '/dev/null', baud: 12 },
  'monitor.run': { port: '/dev/null', duration_sec: 9999 },
  'size.run': { task_id: 'a', detail: 'everything' },
  'sbom.create': { task_id: 5 },
  'diag.run': {},
  'emulator.run': { task_id: 'a', seconds: 601 },
  'emulator.stop': {},
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-mcp-'));
  proj = path.join(tmp, 'proj');
  store = path.join(tmp, 'store');
  await mkdir(path.join(proj, 'main'), { recursive: true });
  await writeFile(
    path.join(proj, 'CMakeLists.txt'),
    'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(existing)\n',
  );
  await writeFile(path.join(proj, 'main/CMakeLists.txt'), 'idf_component_register(SRCS "existing.c")\n');
  await writeFile(path.join(proj, 'main/existing.c'), 'void app_main(void) {}\n');
  await writeFile(
    path.join(proj, 'main/idf_component.yml'),
    'dependencies:\n  idf: ">=5.0"\n  espressif/led_strip:\n    version: "^2.5.3"\n',
  );
  await mkdir(store);
  await writeFile(
    path.join(store, 'manifest.json'),
    JSON.stringify({
      v: 1,
      versions: [
        {
          version: '5.1.6',
          path: 'idf/5.1.6/esp-idf',
          export_script: 'idf/5.1.6/export.sh',
          default: true,
          targets: ['esp32c3', 'esp32'],
          tools: [],
        },
      ],
    }),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', noNetworkPreload, espctlBin, 'mcp', 'serve'],
    cwd: proj,
    // No CONTROL_BASE_URL / MCP_AUTH_SECRET: plan-only.
    env: { PATH: process.env.PATH ?? '', HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'cfg'), ESPCTL_STORE_ROOT: store },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  client = newClient();
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('espctl MCP over stdio, plan-only', () => {
  it('the no-network guard really catches a socket (so the assertion below can fail)', () => {
    const check = (code: string): string =>
      spawnSync(process.execPath, ['--import', noNetworkPreload, '-e', code], { encoding: 'utf8' }).stderr;
    expect(check("fetch('http://127.0.0.1:9').catch(()=>{})")).toContain('NETWORK_CALL fetch');
    expect(check("require('node:net').connect(9, '127.0.0.1')")).toContain('NETWORK_CALL net.connect');
    expect(check("new (require('node:net').Socket)().connect(9, '127.0.0.1')")).toContain(
      'NETWORK_CALL net.Socket.connect',
    );
  });

  it('lists every tool and alias with schemas and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    for (const t of tools) {
      expect(t.inputSchema.type, t.name).toBe('object');
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(typeof t.annotations?.readOnlyHint, t.name).toBe('boolean');
      expect(typeof t.annotations?.destructiveHint, t.name).toBe('boolean');
      expect(typeof t.annotations?.idempotentHint, t.name).toBe('boolean');
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName['logs.tail'].annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName['flash.run'].annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    // Like monitor.run: the emulator only reads what the firmware prints; no board, nothing of the user's changes.
    expect(byName['emulator.run'].annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName['build.cancel'].annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
    expect(byName['project.init'].annotations).toMatchObject({ readOnlyHint: false, idempotentHint: true });
  });

  it('lists resources, templates and 8 prompts with arguments', async () => {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    for (const u of [
      'install://overview',
      ...INSTALL_URIS,
      'store://versions',
      'store://manifest',
      'project://config',
      'project://idf-version',
      'project://sdkconfig',
      'project://compile_commands',
      'build://log/latest',
    ]) {
      expect(uris, u).toContain(u);
    }
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'build://artifacts/{target}',
      'build://log/{task_id}',
      'emulator://{task_id}/output',
    ]);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(PROMPT_NAMES);
    for (const p of prompts) expect(p.arguments?.length, p.name).toBeGreaterThan(0);
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
  });

  it('every prompt renders its arguments into the message', async () => {
    const { prompts } = await client.listPrompts();
    for (const p of prompts) {
      const args = Object.fromEntries((p.arguments ?? []).map((a) => [a.name, `ARG_${a.name}`]));
      const r = await client.getPrompt({ name: p.name, arguments: args });
      const text = r.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('');
      for (const a of p.arguments ?? []) expect(text, `${p.name}.${a.name}`).toContain(`ARG_${a.name}`);
    }
    await expect(client.getPrompt({ name: 'first-build', arguments: {} })).rejects.toThrow(/name/);
  });

  it('install://overview says plan-only and why; snippets carry the espctl path', async () => {
    const text = await readText(client, 'install://overview');
    expect(text).toContain('plan-only');
    expect(text).toContain('CONTROL_BASE_URL and MCP_AUTH_SECRET are not set');
    const vs = await readText(client, 'install://vscode');
    expect(vs).toContain('.vscode/mcp.json');
    expect(vs).toContain(espctlBin);
    expect(vs).toContain('"serve"');
    for (const u of INSTALL_URIS) expect(await readText(client, u)).toContain('mcp');
  });

  it('build returns a plan with status planning naming each step', async () => {
    for (const name of ['build', 'build.start']) {
      const r = await call(client, name, { target: 'esp32c3', profile: 'release' });
      expect(r.isError, textOf(r)).toBeFalsy();
      const s = r.structuredContent as {
        status: string;
        mode: string;
        plan: { steps: Array<{ id: string; detail: string }>; idf_version: string; idf_version_source: string };
      };
      expect(s.status).toBe('planning');
      expect(s.mode).toBe('plan-only');
      expect(s.plan.steps.map((x) => x.id)).toEqual([
        'read-config',
        'resolve-idf',
        'request-grant',
        'connect',
        'upload',
        'set-target',
        'build',
        'bundle',
        'download',
      ]);
      expect(s.plan.idf_version).toBe('5.1.6');
      // The plan speaks of the real ESP-IDF in the store, never of a stand-in toolchain.
      expect(s.plan.steps.find((x) => x.id === 'resolve-idf')?.detail).toBe(
        'Use ESP-IDF 5.1.6 (source: store-default).',
      );
      expect(JSON.stringify(s.plan)).not.toMatch(/test toolchain|test-1\.0/i);
    }
  });

  it('project tools write files on disk and are idempotent where promised', async () => {
    let r = await call(client, 'project.init', { idf_version: '5.1.6', target: 'esp32c3' });
    expect(r.structuredContent).toMatchObject({ written: ['.espctl.toml', '.idf-version'], skipped: [] });
    r = await call(client, 'project.init', { idf_version: '5.1.6' });
    expect(r.structuredContent).toMatchObject({ written: [], skipped: ['.espctl.toml', '.idf-version'] });
    expect(await readText(client, 'project://config')).toContain('name = "existing"');
    expect((await readText(client, 'project://idf-version')).trim()).toBe('5.1.6');

    r = await call(client, 'project.create', {
      name: 'hello',
      template: 'hello_world',
      target: 'esp32c3',
      parent_dir: tmp,
    });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(await readFile(path.join(tmp, 'hello/CMakeLists.txt'), 'utf8')).toMatch(/project\(hello\)/);
    r = await call(client, 'project.create', { name: 'hello', parent_dir: tmp });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^project_exists: /);

    r = await call(client, 'project.create_component', { name: 'sensor' });
    expect(r.structuredContent).toMatchObject({
      written: ['components/sensor/CMakeLists.txt', 'components/sensor/include/sensor.h', 'components/sensor/sensor.c'],
    });
    r = await call(client, 'project.create_component', { name: 'sensor' });
    expect(textOf(r)).toMatch(/^component_exists: /);

    r = await call(client, 'set_target', { target: 'esp32s3' });
    expect(r.structuredContent).toMatchObject({ written: ['.espctl.toml'] });
    r = await call(client, 'set_target', { target: 'esp32s3' });
    expect(r.structuredContent).toMatchObject({ written: [], skipped: ['.espctl.toml'] });

    // project.init already put idf_version into .espctl.toml: nothing to change.
    r = await call(client, 'idf_select_version', { version: '5.1.6', write_to: 'espctl-toml' });
    expect(r.structuredContent).toMatchObject({ written: [], skipped: ['.espctl.toml'], available: true });
    r = await call(client, 'idf.select_version', { version: '5.9.9' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^idf_version_unknown: .*5\.1\.6/);
    expect(await readFile(path.join(proj, '.idf-version'), 'utf8')).toBe('5.1.6\n');
  });

  it('validate_config reports the bad key and line; good config is valid', async () => {
    let r = await call(client, 'validate_config', {});
    expect(r.structuredContent).toMatchObject({
      valid: true,
      config: { name: 'existing', target: 'esp32s3', idf_version: '5.1.6' },
    });
    r = await call(client, 'validate_config', {
      files: { 'CMakeLists.txt': 'project(x)\n', '.espctl.toml': '[build]\ntarget = "esp32c3"\nprofle = "release"\n' },
    });
    expect(r.structuredContent).toMatchObject({
      valid: false,
      errors: [{ code: 'config_invalid', message: '.espctl.toml:3: unknown key "build.profle".' }],
    });
  });

  it('plans, store and doctor work read-only', async () => {
    let r = await call(client, 'generate_build_plan', { clean: true });
    expect((r.structuredContent as { plan: { steps: Array<{ id: string }>; target: string } }).plan).toMatchObject({
      target: 'esp32s3',
    });
    r = await call(client, 'get_clean_plan', { full: true });
    expect((r.structuredContent as { removes: string[] }).removes).toContain('sdkconfig');
    expect(JSON.parse(await readText(client, 'store://manifest')).versions[0].version).toBe('5.1.6');
    expect(JSON.parse(await readText(client, 'store://versions'))).toMatchObject({ source: 'local-store' });
    r = await call(client, 'store_versions', {});
    expect(r.structuredContent).toMatchObject({
      source: 'local-store',
      default: '5.1.6',
      versions: [{ version: '5.1.6', targets: ['esp32c3', 'esp32'] }],
    });
    // A store entry is real ESP-IDF: no stand-in flag.
    expect(Object.keys((r.structuredContent as { versions: object[] }).versions[0]).sort()).toEqual([
      'default',
      'targets',
      'version',
    ]);
    r = await call(client, 'idf.versions', { target: 'esp32c3' });
    expect(r.structuredContent).toMatchObject({
      versions: ['5.1.6'],
      default: '5.1.6',
    });

    r = await call(client, 'idf.versions', { target: 'esp32s3' });
    expect(r.structuredContent).toMatchObject({ versions: [] });
    for (const name of ['doctor', 'doctor.run']) {
      r = await call(client, name, {});
      const d = r.structuredContent as {
        status: string;
        checks: Array<{ name: string; status: string }>;
        errors: unknown[];
      };
      expect(d.checks.map((c) => c.name)).toEqual([
        'control_plane_reachable',
        'key_accepted',
        'clock_skew',
        'project_parses',
        'store_present',
        'idf_version_available',
      ]);
      expect(d.checks.find((c) => c.name === 'control_plane_reachable')?.status).toBe('skipped');
      expect(d.checks.find((c) => c.name === 'idf_version_available')?.status).toBe('ok');
      expect(d.status).toBe('ok');
    }
    r = await call(client, 'doctor', { files: { '.espctl.toml': 'x = = 1' } });
    expect((r.structuredContent as { status: string; errors: Array<{ code: string }> }).errors[0].code).toBe(
      'config_syntax',
    );
  });

  it('sbom.create lists ESP-IDF, local components and registry dependencies', async () => {
    const r = await call(client, 'sbom.create', {});
    // The same generator and schema as the build machine's sbom.json (libs/esp, libs/protocol).
    const spdx = SpdxDocument.parse((r.structuredContent as { spdx: unknown }).spdx);
    expect(spdx.creationInfo.creators).toEqual([expect.stringMatching(/^Tool: espctl-\d/)]);
    const pk = Object.fromEntries(spdx.packages.map((p) => [p.name, p.versionInfo]));
    expect(pk).toMatchObject({
      existing: 'NOASSERTION',
      'esp-idf': '5.1.6',
      main: 'NOASSERTION',
      sensor: 'NOASSERTION',
      'espressif/led_strip': '^2.5.3',
    });
    expect(spdx.files).toEqual([]);
    const again = SpdxDocument.parse(
      ((await call(client, 'sbom.create', {})).structuredContent as { spdx: unknown }).spdx,
    );
    expect(again.documentNamespace).not.toBe(spdx.documentNamespace);
  });

  it('parse_build_errors and parse_size_report use libs/esp on real tool output', async () => {
    const log = [
      '[1/3] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/app.c.obj',
      "/p/main/app.c:12:5: error: implicit declaration of function 'foo' [-Wimplicit-function-declaration]",
      '   12 |     foo();',
      "ld: main/app.c:20: undefined reference to `bar'",
    ].join('\n');
    let r = await call(client, 'parse_build_errors', { log });
    expect(r.isError, textOf(r)).toBeFalsy();
    const d = r.structuredContent as {
      count: number;
      diagnostics: Array<{ file: string; line: number; severity: string }>;
    };
    expect(d.diagnostics[0]).toMatchObject({ file: '/p/main/app.c', line: 12, column: 5, severity: 'error' });
    expect(d.count).toBe(2);
    const sizeJson = await readFile(path.join(here, 'fixtures/esp32c3-size-summary.json'), 'utf8');
    r = await call(client, 'parse_size_report', { report: sizeJson });
    expect(r.isError, textOf(r)).toBeFalsy();
    const sum = (r.structuredContent as { summary: { flash: { used: number } } }).summary;
    expect(sum.flash.used).toBeGreaterThan(1000);
    r = await call(client, 'parse_size_report', { report: 'hello there' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^bad_size_report: /);
  });

  it('remote-only tools answer plan_only with a sentence', async () => {
    for (const [name, args] of PLAN_ONLY_TOOLS) {
      const r = await call(client, name, args);
      expect(r.isError, name).toBe(true);
      expect(textOf(r), name).toMatch(
        /^plan_only: espctl runs in plan-only mode .*set CONTROL_BASE_URL and MCP_AUTH_SECRET/,
      );
    }
  });

  it('every tool refuses invalid input with a clear error', async () => {
    expect(Object.keys(INVALID).sort()).toEqual(TOOL_NAMES);
    for (const [name, args] of Object.entries(INVALID)) {
      const r = await call(client, name, args);
      expect(r.isError, `${name} accepted ${JSON.stringify(args)}`).toBe(true);
      expect(textOf(r), name).toMatch(/Input validation error|invalid/i);
    }
  });

  it('made no network call at all', () => {
    expect(stderr).toContain('plan-only mode');
    expect(stderr).not.toContain('NETWORK_CALL');
  });
});
