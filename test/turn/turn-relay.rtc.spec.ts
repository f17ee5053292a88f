import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { realIdfStore, testCompilerCacheEnv } from '@aegis/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, Topology, waitForLine } from './netns.js';

/**
 * A build through a TURN relay: the client (espctl) and the machine sit in network namespaces with no route to each
 * other; both reach only the server namespace, where the API hands out short-lived coturn credentials (TURN REST API
 * scheme) and Debian's coturn relays. The build can only complete if ICE goes through the relay.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const BUILD_MS = 15 * 60_000;

const net = new Topology();
const secret = randomBytes(24).toString('base64url');
const adminKey = `aegis_u_${randomBytes(24).toString('base64url')}`;
const apiUrl = `http://${net.serverIp}:8080`;
let tmp: string;
const out = { api: [] as string[], turn: [] as string[], machine: [] as string[] };

/** A command in the client's namespace. */
async function inClient(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run('ip', ['netns', 'exec', net.client, process.execPath, ...args], {
      cwd: tmp,
      timeout: BUILD_MS,
      maxBuffer: 64 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '', HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'cfg'), ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const espctl = (args: string[]) =>
  inClient([path.join(repo, 'libs/espctl/bin/espctl.js'), ...args], {
    ESPCTL_ALLOW_INSECURE: '1',
    AEGIS_RTC_INTERFACE: net.clientIp,
  });

beforeAll(async () => {
  for (const cmd of ['turnserver', 'bwrap'])
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
      throw new Error(`${cmd} is not installed: bash scripts/system-packages.sh --ci`);
  tmp = mkdtempSync('/var/tmp/aegis-turn-');
  chmodSync(tmp, 0o755); // the machine's per-job uids traverse it to their workspaces
  net.create();
  const env = { PATH: process.env.PATH ?? '', HOME: tmp };

  net.spawn(
    net.server,
    'turnserver',
    [
      '-n',
      `--listening-ip=${net.serverIp}`,
      `--relay-ip=${net.serverIp}`,
      '--listening-port=3478',
      '--min-port=49160',
      '--max-port=49200',
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=aegis',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--fingerprint',
      '--log-file=stdout',
      '--simple-log',
      '--verbose',
      `--pidfile=${path.join(tmp, 'turnserver.pid')}`,
      `--userdb=${path.join(tmp, 'turndb')}`,
    ],
    env,
    (l) => out.turn.push(l),
  );
  net.spawn(
    net.server,
    process.execPath,
    [path.join(repo, 'apps/api/dist/main.js')],
    {
      ...env,
      HOST: net.serverIp,
      PORT: '8080',
      PUBLIC_URL: apiUrl,
      AEGIS_DATA_DIR: path.join(tmp, 'api'),
      AEGIS_BOOTSTRAP_ADMIN_KEY: adminKey,
      TURN_URLS: `turn:${net.serverIp}:3478?transport=udp`,
      TURN_SECRET: secret,
      TURN_TTL_SECS: '600',
    },
    (l) => out.api.push(l),
  );
  await waitForLine(out.api, /"msg":"listening"/, 60_000, 'API');
  await waitForLine(out.turn, /listener opened on|Total General servers/i, 30_000, 'coturn');

  const mk = await inClient([
    '--input-type=module',
    '-e',
    `const r = await fetch('${apiUrl}/machines', { method: 'POST', headers: { authorization: 'Bearer ${adminKey}',
      'content-type': 'application/json' }, body: JSON.stringify({ name: 'behind-nat' }) });
     if (!r.ok) throw new Error(r.status + ' ' + await r.text()); console.log((await r.json()).token);`,
  ]);
  expect(mk.code, mk.stderr).toBe(0);
  net.spawn(
    net.machine,
    process.execPath,
    [path.join(repo, 'apps/machine/dist/main.js'), '--sandbox=bwrap'],
    {
      ...env,
      CONTROL_BASE_URL: apiUrl,
      AEGIS_MACHINE_TOKEN: mk.stdout.trim(),
      AEGIS_TRUSTED_JWKS: path.join(tmp, 'api/jwks.json'),
      ESPCTL_STORE_ROOT: realIdfStore(),
      ...testCompilerCacheEnv(),
      AEGIS_WORK_DIR: path.join(tmp, 'machine'),
      AEGIS_RTC_INTERFACE: net.machineIp,
      ESPCTL_ALLOW_INSECURE: '1',
    },
    (l) => out.machine.push(l),
  );
  await waitForLine(out.machine, /"msg":"registered with the control API"/, 60_000, 'machine');
}, 180_000);

afterAll(async () => {
  await net.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('a build through the TURN relay between namespaces with no route to each other', () => {
  it('client and machine cannot reach each other directly', () => {
    expect(() => ip('-n', net.client, 'route', 'get', net.machineIp)).toThrow(/unreachable/i);
    expect(() => ip('-n', net.machine, 'route', 'get', net.clientIp)).toThrow(/unreachable/i);
  });

  it('grants carry a short-lived coturn credential for the user', async () => {
    const r = await espctl(['--json', 'login', '--token', adminKey, '--server', apiUrl]);
    expect(r.code, r.stderr).toBe(0);
    const g = await inClient([
      '--input-type=module',
      '-e',
      `const r = await fetch('${apiUrl}/grant/request', { method: 'POST', headers: { authorization: 'Bearer ${adminKey}',
        'content-type': 'application/json' }, body: JSON.stringify({ required_channels: ['espctl'], timeout_secs: 60,
        peer_fingerprint: { algorithm: 'sha-256', value: Array(32).fill('AB').join(':') } }) });
       console.log(await r.text());`,
    ]);
    const body = JSON.parse(g.stdout) as { ice_servers?: Array<{ urls: string[]; username: string }> };
    expect(body.ice_servers, g.stdout).toHaveLength(1);
    const [expiry] = body.ice_servers![0]!.username.split(':');
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(500);
    expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(600);
  });

  it(
    'espctl builds hello_world for the ESP32-C3 on the machine through the relay and downloads verified firmware',
    async () => {
      let r = await espctl(['project', 'create', 'relayed', '--target', 'esp32c3', '--dir', 'p']);
      expect(r.code, r.stderr).toBe(0);
      r = await espctl(['--json', 'build', '-C', 'p/relayed', '--follow']);
      const tail = `${r.stderr}\n${r.stdout.slice(-3000)}\n--- coturn:\n${out.turn.slice(-40).join('\n')}`;
      expect(r.code, tail).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: string };
      expect(result.status).toBe('succeeded');
      r = await espctl(['--json', 'download', '-o', 'fw']);
      expect(r.code, r.stderr).toBe(0);
      const files = (JSON.parse(r.stdout) as { files: Array<{ path: string; sha256: string }> }).files;
      expect(files.length).toBeGreaterThan(2);
      for (const f of files) expect(createHash('sha256').update(readFileSync(f.path)).digest('hex')).toBe(f.sha256);
      // coturn accepted the API's credentials and relayed for both sides (a <expiry>:<user id> username each).
      const allocated = out.turn.filter((l) => /ALLOCATE processed, success/.test(l));
      expect(allocated.length, out.turn.join('\n')).toBeGreaterThanOrEqual(2);
      expect(out.turn.join('\n')).toMatch(/username=<\d+:[0-9a-f-]{36}>/);
    },
    BUILD_MS + 30_000,
  );
});
