import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createUser, startApi, type StartedApi } from '@aegis/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, INSTALL_URIS, newClient, PROMPT_NAMES, readText, textOf, TOOL_NAMES } from './mcp-helpers.js';

let api: StartedApi;
let key: string;
let otherKey: string;
let client: Client;

const auth = (k: string) => ({ requestInit: { headers: { Authorization: `Bearer ${k}` } } });

async function connectHttp(k: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), auth(k));
  const c = newClient();
  await c.connect(transport);
  return { client: c, transport };
}

const files = {
  'CMakeLists.txt':
    'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(inline_app)\n',
  'main/CMakeLists.txt': 'idf_component_register(SRCS "inline_app.c")\n',
  'main/inline_app.c': 'void app_main(void) {}\n',
};

beforeAll(async () => {
  api = await startApi({ env: { AEGIS_RTC_INTERFACE: '127.0.0.1' } });
  key = await createUser(api.url, api.adminKey);
  otherKey = await createUser(api.url, api.adminKey);
  client = (await connectHttp(key)).client;
});

afterAll(async () => {
  await client?.close();
  await api?.stop();
});

describe('espctl MCP mounted by the API', () => {
  it('refuses requests without a valid user key', async () => {
    const res = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    expect(res.status).toBe(401);
    const c = newClient();
    await expect(
      c.connect(new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), auth('aegis_u_nope'))),
    ).rejects.toThrow();
    expect((await fetch(`${api.url}/sse`)).status).toBe(401);
  });

  it('lists the same tools, resources and prompts as stdio; remote mode; snippets carry the HTTP URL', async () => {
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    expect((await client.listPrompts()).prompts.map((p) => p.name).sort()).toEqual(PROMPT_NAMES);
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    for (const u of ['install://overview', ...INSTALL_URIS, 'store://versions', 'build://log/latest'])
      expect(uris).toContain(u);
    const overview = await readText(client, 'install://overview');
    expect(overview).toContain('**remote**');
    expect(await readText(client, 'install://vscode')).toContain(`${api.url}/mcp`);
    expect(await readText(client, 'install://claude-code')).toContain(`--transport http espctl ${api.url}/mcp`);
  });

  it('a session belongs to the user who opened it', async () => {
    const { transport } = await connectHttp(key);
    const sid = transport.sessionId!;
    const res = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${otherKey}`,
        'mcp-session-id': sid,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
    await transport.terminateSession();
  });

  it('project tools take the project inline and return written files', async () => {
    let r = await call(client, 'project.create', { name: 'web_app', template: 'blink', target: 'esp32c3' });
    const out = r.structuredContent as { written: string[]; files: Record<string, string> };
    expect(out.written).toContain('main/web_app.c');
    expect(out.files['CMakeLists.txt']).toMatch(/project\(web_app\)/);
    r = await call(client, 'project.create', { name: 'web_app', parent_dir: '/tmp' });
    expect(textOf(r)).toMatch(/^project_dir_unavailable: /);
    r = await call(client, 'validate_config', { project_dir: '/etc' });
    expect(textOf(r)).toMatch(/^project_dir_unavailable: .*inline/);
    r = await call(client, 'project.init', { files, target: 'esp32c3' });
    expect((r.structuredContent as { files: Record<string, string> }).files['.espctl.toml']).toContain(
      'name = "inline_app"',
    );
    r = await call(client, 'generate_build_plan', { files });
    expect(r.isError, textOf(r)).toBeFalsy();
  });

  it('accepts inline projects beyond the API-wide 256 kB body limit (MCP routes only)', async () => {
    const big = { ...files, 'main/table.c': `const char table[] = "${'x'.repeat(600 * 1024)}";\n` };
    const r = await call(client, 'validate_config', { files: big });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ valid: true });
    const other = await fetch(`${api.url}/flash-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ job_id: 'x'.repeat(300 * 1024) }),
    });
    expect(other.status).toBe(413);
  });

  it('store_versions asks the API (no machine online: empty)', async () => {
    const r = await call(client, 'store_versions', {});
    expect(r.structuredContent).toMatchObject({ source: 'control-api', versions: [] });
  });

  it('doctor checks the control plane, the key and the clock', async () => {
    const r = await call(client, 'doctor', { files });
    const d = r.structuredContent as { checks: Array<{ name: string; status: string }> };
    const by = Object.fromEntries(d.checks.map((c) => [c.name, c.status]));
    expect(by).toMatchObject({
      control_plane_reachable: 'ok',
      key_accepted: 'ok',
      clock_skew: 'ok',
      project_parses: 'ok',
    });
  });

  it('build with no machine online ends failed with the reason, and logs.tail works on the task', async () => {
    const r = await call(client, 'build', { files, target: 'esp32c3', wait: true });
    expect(r.isError, textOf(r)).toBeFalsy();
    const s = r.structuredContent as { task_id: string; status: string; error?: { code: string; message: string } };
    expect(s.status).toBe('failed');
    expect(s.error?.message.length).toBeGreaterThan(10);
    const st = await call(client, 'build.status', { task_id: s.task_id });
    expect(st.structuredContent).toMatchObject({ status: 'failed' });
    const logs = await call(client, 'logs.tail', { task_id: s.task_id, since_seq: 0 });
    expect(logs.structuredContent).toEqual({ lines: [], next_seq: 0, more: false });
    const arts = await call(client, 'list_artifacts', { task_id: s.task_id });
    expect(textOf(arts)).toMatch(/^build_failed: /);
  });

  it('flash.run says clearly when no dashboard is connected; the dashboard poll connects it', async () => {
    const job = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
    let r = await call(client, 'flash.run', { job_id: job });
    expect(textOf(r)).toMatch(/^no_dashboard: No dashboard tab is connected/);
    const poll = await fetch(`${api.url}/flash-requests?status=pending`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(poll.status).toBe(200);
    expect(await poll.json()).toEqual({ requests: [] });
    r = await call(client, 'flash.run', { job_id: job });
    expect(textOf(r)).toMatch(/not_found: .*does not exist or is not yours/);
    const bad = await fetch(`${api.url}/flash-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ job_id: job, firmware: 'AAAA' }),
    });
    expect(bad.status).toBe(400);
    r = await call(client, 'monitor.run', { port: '/dev/ttyUSB0' });
    expect(textOf(r)).toMatch(/^serial_unavailable: Over HTTP/);
  });

  it('legacy SSE transport serves the same server', async () => {
    const c = newClient();
    await c.connect(
      new SSEClientTransport(new URL(`${api.url}/sse`), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
        eventSourceInit: {
          fetch: (u, init) =>
            fetch(u, { ...init, headers: { ...(init?.headers ?? {}), Authorization: `Bearer ${key}` } }),
        },
      }),
    );
    expect((await c.listTools()).tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    const r = await call(c, 'project.create', { name: 'sse_app', template: 'empty' });
    expect((r.structuredContent as { written: string[] }).written).toContain('main/sse_app.c');
    const bad = await call(c, 'logs.tail', { task_id: 'x', lines: -1 });
    expect(bad.isError).toBe(true);
    await c.close();
  });

  it('resumable: a lost response stream is replayed from Last-Event-ID (event store)', async () => {
    const H = {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: H,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    await init.text();
    const H2 = { ...H, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: H2,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    const res = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: H2,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'get_clean_plan', arguments: { files: {} } },
      }),
    });
    const first = await res.text();
    const ids = [...first.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
    expect(ids.length).toBe(2);
    // Pretend the response was lost after the priming event: ask for everything after it.
    const ac = new AbortController();
    const replay = await fetch(`${api.url}/mcp`, {
      headers: { ...H2, accept: 'text/event-stream', 'last-event-id': ids[0] },
      signal: ac.signal,
    });
    expect(replay.status).toBe(200);
    const reader = replay.body!.getReader();
    let text = '';
    const timer = setTimeout(() => ac.abort(), 3000);
    try {
      while (!text.includes('"id":2')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } catch {
      // aborted
    }
    clearTimeout(timer);
    ac.abort();
    expect(text).toContain(`id: ${ids[1]}`);
    expect(text).toContain('"removes"');
  });

  it('never logs the key', () => {
    expect(api.output.join('\n')).not.toContain(key);
  });
});
