import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readAppImage, renderProjectTemplate, verifyBundleFiles, verifyBundleManifest } from '@aegis/esp';
import { MachineListResponse } from '@aegis/protocol';
import { realIdfStore, testCompilerCacheEnv } from '@aegis/testkit';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, NpmStart, run } from './support.js';

/**
 * A newcomer's path: a fresh clone, `npm start`, a build of a template through the API's MCP endpoint, Ctrl-C.
 * The clone gets the parent's node_modules as hard links (what `npm ci` would have put there, without the minutes
 * of copying) and the already provisioned ESP-IDF store; everything else — tsc -b, next build, the API's database,
 * the admin key, the machine's token — is made by `npm start` itself.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
// tsc -b and next build of the whole repo from nothing: a few minutes on 2 loaded cores.
const FIRST_START_MS = 20 * 60_000;
const BUILD_MS = 20 * 60_000;

let scratch: string;
let clone: string;
let env: NodeJS.ProcessEnv;
let apiUrl: string;
let webUrl: string;
let first: NpmStart | undefined;
let second: NpmStart | undefined;

beforeAll(async () => {
  // Under /var/tmp and opened to 0755: a root machine's per-job sandbox uids must traverse every parent directory of
  // the clone's job workspaces (scripts/idf-store.mjs sandboxReachable).
  scratch = mkdtempSync('/var/tmp/aegis-newcomer-');
  chmodSync(scratch, 0o755);
  clone = path.join(scratch, 'aegis');
  run('git', ['clone', '--quiet', repo, clone], scratch);
  linkNodeModules(repo, clone);
  const [apiPort, webPort] = [await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${apiPort}`;
  webUrl = `http://127.0.0.1:${webPort}`;
  env = {
    PATH: process.env.PATH ?? '',
    HOME: scratch,
    API_PORT: String(apiPort),
    WEB_PORT: String(webPort),
    ESPCTL_STORE_ROOT: realIdfStore(),
    // The compiler cache every test machine shares (a newcomer's own starts empty; this keeps npm test short).
    ...testCompilerCacheEnv(),
    // The private namespace has loopback only; every peer binds ICE to it.
    AEGIS_RTC_INTERFACE: '127.0.0.1',
    NEXT_TELEMETRY_DISABLED: '1',
    SCARF_ANALYTICS: 'false',
    ...(process.env.AEGIS_IDF_KIT ? { AEGIS_IDF_KIT: process.env.AEGIS_IDF_KIT } : {}),
  };
});

afterAll(() => {
  first?.kill();
  second?.kill();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Hard links of the parent's installed packages, workspace links included (they are relative, so they point into the clone). */
function linkNodeModules(from: string, to: string): void {
  const dirs = ['node_modules', ...readdirSync(path.join(from, 'libs')).map((l) => `libs/${l}/node_modules`)];
  for (const d of dirs) {
    if (!existsSync(path.join(from, d))) continue;
    const r = run('cp', ['-al', path.join(from, d), path.join(to, d)], to);
    expect(r).toBe('');
  }
  // Build stamps of the parent's own builds are not the clone's.
  rmSync(path.join(to, 'node_modules/.cache/aegis-build'), { recursive: true, force: true });
}

async function machineKey(key: string): Promise<{ id: string; jwk: JWK }> {
  const res = await fetch(`${apiUrl}/machines`, { headers: { authorization: `Bearer ${key}` } });
  const { machines } = MachineListResponse.parse(await res.json());
  const m = machines.find((x) => x.online && x.bundle_public_jwk);
  if (!m) throw new Error(`no online machine with a bundle key: ${JSON.stringify(machines)}`);
  return { id: m.id, jwk: m.bundle_public_jwk as JWK };
}

async function stopCleanly(p: NpmStart): Promise<void> {
  p.interrupt();
  // npm itself dies of the SIGINT, as in a terminal; scripts/start.mjs then stops every part and exits.
  const { code, signal } = await p.exited;
  expect(code === 0 || signal === 'SIGINT', `${code ?? signal}\n${p.text}`).toBe(true);
  // Every child (API, machine, dashboard and whatever they started) left with it.
  for (let i = 0; i < 40 && p.groupAlive(); i++) await new Promise((r) => setTimeout(r, 250));
  expect(p.groupAlive()).toBe(false);
  await expect(fetch(`${apiUrl}/health`)).rejects.toThrow();
  await expect(fetch(webUrl)).rejects.toThrow();
}

describe('a newcomer: fresh clone → npm start → firmware → Ctrl-C', () => {
  let adminKey: string;

  it(
    'npm start builds the clone, starts every part and shows the admin key once it is up',
    async () => {
      first = new NpmStart(clone, env);
      await first.waitFor(/Aegis is running/, FIRST_START_MS);
      adminKey = readFileSync(path.join(clone, '.aegis/admin-key'), 'utf8').trim();
      expect(adminKey).toMatch(/^aegis_u_/);
      expect(first.text).toContain(`Admin key   ${adminKey}`);
      expect(first.text).toMatch(/building packages \(tsc -b\)…/);
      expect(first.text).toMatch(/building the dashboard \(next build\)…/);
      // .aegis (database, keys) stays private; the machine's work lives outside it, where the sandbox reaches.
      expect(statSync(path.join(clone, '.aegis')).mode & 0o777).toBe(0o700);
      expect(existsSync(path.join(clone, '.aegis-machine'))).toBe(true);
      const signin = await (await fetch(`${webUrl}/signin`)).text();
      expect(signin).toContain('.aegis/admin-key');
    },
    FIRST_START_MS + 10_000,
  );

  it(
    'builds the hello_world template for the ESP32-C3 through /mcp and gets firmware whose signature verifies',
    async () => {
      const client = new Client({ name: 'newcomer', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${apiUrl}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${adminKey}` } },
        }),
      );
      try {
        const files = renderProjectTemplate('hello_world', { name: 'newcomer', target: 'esp32c3' });
        const started = await client.callTool({ name: 'build', arguments: { files } });
        expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
        const { task_id } = started.structuredContent as { task_id: string };
        let status: { status: string; job_id: string };
        // A clean ESP-IDF build: 40 s on 2 idle cores, many minutes on a loaded machine.
        for (;;) {
          const s = await client.callTool({ name: 'build.status', arguments: { task_id } });
          status = s.structuredContent as { status: string; job_id: string };
          if (['succeeded', 'failed', 'canceled', 'expired'].includes(status.status)) break;
          await new Promise((r) => setTimeout(r, 2000));
        }
        expect(status.status, JSON.stringify(status)).toBe('succeeded');
        const dl = await client.callTool({ name: 'firmware.download', arguments: { job_id: status.job_id } });
        expect(dl.isError, JSON.stringify(dl.content)).toBeFalsy();
        type File = { name: string; sha256: string; content_base64: string };
        const got = new Map<string, Uint8Array>();
        for (const f of (dl.structuredContent as { files: File[] }).files) {
          const bytes = new Uint8Array(Buffer.from(f.content_base64, 'base64'));
          expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
          got.set(f.name.replace(/^bundle\//, ''), bytes);
        }
        // The machine signed the bundle; its key is the one the API publishes for it.
        const { jwk } = await machineKey(adminKey);
        const jws = new TextDecoder().decode(got.get('manifest.jws')).trim();
        const manifest = await verifyBundleManifest(got.get('manifest.json')!, jws, jwk);
        const parts = new Map(manifest.parts.map((p) => [p.file, got.get(p.file)!]));
        verifyBundleFiles(manifest, parts);
        const app = manifest.parts.find((p) => p.name === 'app')!;
        const image = readAppImage(parts.get(app.file)!);
        expect(image.header.chip).toBe('esp32c3');
        expect(image.checksum.valid).toBe(true);
        expect(image.appDesc).toMatchObject({ projectName: 'newcomer', idfVersion: 'v5.1.6' });
      } finally {
        await client.close();
      }
    },
    BUILD_MS + 30_000,
  );

  it('Ctrl-C stops every part and no process of it is left', async () => {
    await stopCleanly(first!);
    expect(first!.text).not.toMatch(/could not start|stopping everything/);
  }, 60_000);

  it(
    'a restart skips the unchanged builds and does not show the admin key again',
    async () => {
      second = new NpmStart(clone, env);
      await second.waitFor(/Aegis is running/, 5 * 60_000);
      expect(second.text).toMatch(/building packages \(tsc -b\) — up to date, skipped/);
      expect(second.text).toMatch(/building the dashboard \(next build\) — up to date, skipped/);
      expect(second.text).not.toContain(adminKey);
      expect(second.text).toContain(`in ${path.join(clone, '.aegis/admin-key')}`);
      await stopCleanly(second);
      expect(second.text).not.toMatch(/could not start|stopping everything/);
    },
    6 * 60_000,
  );
});
