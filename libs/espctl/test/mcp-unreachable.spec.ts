import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/project/templates.js';
import { call, espctlBin, newClient, textOf } from './mcp-helpers.js';

let tmp: string;
let client: Client;

let port: number;

/** A loopback port nobody listens on (taken and released), so connections are refused at once. */
async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-unreach-'));
  port = await deadPort();
  client = newClient();
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [espctlBin, 'mcp', 'serve'],
      cwd: tmp,
      // Remote mode against a loopback port nobody listens on.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: tmp,
        CONTROL_BASE_URL: `http://127.0.0.1:${port}`,
        MCP_AUTH_SECRET: 'aegis_u_not_a_real_key',
        ESPCTL_ALLOW_INSECURE: '1',
        AEGIS_RTC_INTERFACE: '127.0.0.1',
      },
      stderr: 'ignore',
    }),
  );
});
afterAll(async () => {
  await client?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('remote mode with the control API down', () => {
  it('build ends failed with control_unreachable, store_versions and doctor say so', async () => {
    const files = renderTemplate('hello_world', 'down', 'esp32c3');
    const r = await call(client, 'build', { files, wait: true });
    expect(r.isError, textOf(r)).toBeFalsy();
    // libs/peer's signaling client names the failure (api_unreachable) with the URL.
    expect(r.structuredContent).toMatchObject({ status: 'failed', error: { code: 'api_unreachable' } });
    expect((r.structuredContent as { error: { message: string } }).error.message).toMatch(
      new RegExp(`Cannot reach the control API at http://127\\.0\\.0\\.1:${port}`),
    );
    const sv = await call(client, 'store_versions', {});
    expect(textOf(sv)).toMatch(
      new RegExp(
        `^control_unreachable: The control API at http://127\\.0\\.0\\.1:${port} is not reachable \\(ECONNREFUSED\\)`,
      ),
    );
    const d = await call(client, 'doctor', { files });
    const checks = Object.fromEntries(
      (d.structuredContent as { checks: Array<{ name: string; status: string }> }).checks.map((c) => [
        c.name,
        c.status,
      ]),
    );
    expect(checks).toMatchObject({
      control_plane_reachable: 'error',
      key_accepted: 'skipped',
      clock_skew: 'skipped',
      project_parses: 'ok',
    });
  });
});
