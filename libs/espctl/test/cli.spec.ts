import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { espctlBin, noNetworkPreload } from './mcp-helpers.js';

let tmp: string;
const run = (args: string[], env: Record<string, string> = {}, cwd = tmp, input?: string) =>
  spawnSync(process.execPath, ['--import', noNetworkPreload, espctlBin, ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'cfg'), ...env },
  });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-cli-'));
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

describe('espctl CLI', () => {
  it('version, human and --json', () => {
    expect(run(['version']).stdout).toBe('espctl 0.1.0\n');
    expect(JSON.parse(run(['--json', 'version']).stdout)).toEqual({ version: '0.1.0' });
  });

  it('project create + init, then a plan-only build (exit 8, no network)', async () => {
    let r = run(['--json', 'project', 'create', 'blinky', '--template', 'blink', '--target', 'esp32c3']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).written).toContain('main/blinky.c');
    r = run(['project', 'create', 'blinky']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/already holds a project/);
    const dir = path.join(tmp, 'blinky');
    r = run(['--json', 'project', 'init', '--idf-version', '5.3.1'], {}, dir);
    expect(JSON.parse(r.stdout).written).toEqual(['.idf-version']);
    r = run(['--json', 'build', '--profile', 'release'], {}, dir);
    expect(r.status).toBe(8);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('planning');
    expect(out.plan).toMatchObject({
      target: 'esp32c3',
      idf_version: '5.3.1',
      idf_version_source: 'idf-version-file',
      profile: 'release',
    });
    expect(r.stderr).not.toContain('NETWORK_CALL');
  });

  it('bad .espctl.toml: exit 3 and a JSON error naming key and line on stderr', async () => {
    const dir = path.join(tmp, 'blinky');
    await writeFile(path.join(dir, '.espctl.toml'), '[build]\ntarget = "esp32c3"\nbaud = 5\n');
    const r = run(['--json', 'build'], {}, dir);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'config_invalid', message: '.espctl.toml:3: unknown key "build.baud".' },
    });
  });

  it('usage errors exit 2 with a JSON error', () => {
    const r = run(['--json', 'build', '--target', 'esp8266']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('usage');
    expect(run(['frobnicate']).status).toBe(2);
    // An unknown size detail is refused before any credentials or network are needed.
    const size = run(['--json', 'size', '--detail', 'everything']);
    expect(size.status).toBe(2);
    const err = JSON.parse(size.stderr).error as { code: string; message: string };
    expect(err.code).toBe('usage');
    expect(err.message).toMatch(/--detail.*everything.*summary, components, files/);
    const plain = run(['size', '--detail', 'everything']);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toMatch(/Allowed choices are summary, components, files/);
  });

  it('login refuses plain http unless ESPCTL_ALLOW_INSECURE=1, and stores credentials 0600', async () => {
    let r = run(['--json', 'login', '--token', 'aegis_u_secret123', '--server', 'http://127.0.0.1:9', '--no-verify']);
    expect(r.status).toBe(4);
    expect(JSON.parse(r.stderr).error.code).toBe('insecure_url');
    r = run(['--json', 'login', '--token', 'aegis_u_secret123', '--server', 'http://127.0.0.1:9', '--no-verify'], {
      ESPCTL_ALLOW_INSECURE: '1',
    });
    expect(r.status, r.stderr).toBe(0);
    const file = path.join(tmp, 'cfg/espctl/credentials.json');
    expect(JSON.parse(r.stdout).credentials).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      server: 'http://127.0.0.1:9',
      token: 'aegis_u_secret123',
    });
    expect(r.stdout + r.stderr).not.toContain('aegis_u_secret123');
  });

  it('login takes the key from standard input or ESPCTL_TOKEN, so it never has to be an argument', async () => {
    const file = path.join(tmp, 'cfg/espctl/credentials.json');
    const insecure = { ESPCTL_ALLOW_INSECURE: '1' };
    const args = ['--json', 'login', '--server', 'http://127.0.0.1:9', '--no-verify'];
    let r = run([...args, '--token', '-'], insecure, tmp, 'aegis_u_fromstdin\n');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).token).toBe('aegis_u_fromstdin');
    r = run(args, { ...insecure, ESPCTL_TOKEN: 'aegis_u_fromenv' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).token).toBe('aegis_u_fromenv');
    r = run(args, insecure);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'usage', message: expect.stringMatching(/ESPCTL_TOKEN/) });
    expect(JSON.parse(await readFile(file, 'utf8')).token).toBe('aegis_u_fromenv');
  });

  it('a plain-http CONTROL_BASE_URL is refused (plan-only, no network) unless ESPCTL_ALLOW_INSECURE=1', () => {
    expect(run(['project', 'create', 'plain', '--template', 'empty']).status).toBe(0);
    const env = { CONTROL_BASE_URL: 'http://127.0.0.1:9', MCP_AUTH_SECRET: 'aegis_u_x' };
    const r = run(['--json', 'build'], env, path.join(tmp, 'plain'));
    expect(r.status, r.stderr).toBe(8);
    expect(JSON.parse(r.stdout).reason).toMatch(/CONTROL_BASE_URL was refused: Refusing plain http/);
    expect(r.stderr).not.toContain('NETWORK_CALL');
  });

  it('doctor in plan-only mode skips the network checks', () => {
    const r = run(['--json', 'doctor', '-C', path.join(tmp, 'blinky')], {
      XDG_CONFIG_HOME: path.join(tmp, 'empty-cfg'),
    });
    const d = JSON.parse(r.stdout);
    expect(d.mode).toBe('plan-only');
    expect(d.checks[0]).toMatchObject({ name: 'control_plane_reachable', status: 'skipped' });
    expect(r.stderr).not.toContain('NETWORK_CALL');
  });
});
