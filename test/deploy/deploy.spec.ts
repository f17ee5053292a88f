import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The deployment files, checked offline by the tools that will read them: Compose (no Docker engine needed for
 * `config`), HAProxy's own config check and systemd's unit verifier. scripts/system-packages.sh --ci installs them.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  return { code: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** `docker compose` (the v2 plugin) when it works, else Debian's `docker-compose` (v1); a clear failure without either. */
function compose(): string[] {
  if (sh('docker', ['compose', 'version']).code === 0) return ['docker', 'compose'];
  if (sh('docker-compose', ['version']).code === 0) return ['docker-compose'];
  throw new Error(
    "Neither `docker compose` nor `docker-compose` works here; install Debian's docker-compose " +
      '(apt-get install docker-compose, or bash scripts/system-packages.sh --ci).',
  );
}

const env = {
  POSTGRES_PASSWORD: 'pg-secret',
  PUBLIC_URL: 'https://aegis.example.com',
  DASHBOARD_URL: 'https://dash.example.com',
  AEGIS_KEY_ENCRYPTION_SECRET: 'k'.repeat(40),
  AEGIS_BOOTSTRAP_ADMIN_KEY: 'aegis_u_0123456789abcdefXYZ',
  TURN_HOST: '203.0.113.7',
  TURN_SECRET: 'turn-secret',
  AEGIS_MACHINE_TOKEN: 'aegis_m_token',
  AEGIS_WEB_SECRET: 'w'.repeat(40),
};

function config(e: Record<string, string>) {
  const [cmd, ...pre] = compose();
  return sh(cmd!, [...pre, '-f', 'docker-compose.yml', 'config'], e);
}

describe('docker-compose.yml', () => {
  it('is a valid stack: PostgreSQL, two API replicas behind HAProxy, a machine, the dashboard, coturn', () => {
    const [cmd, ...pre] = compose();
    const services = sh(cmd!, [...pre, '-f', 'docker-compose.yml', 'config', '--services'], env);
    expect(services.code, services.out).toBe(0);
    expect(services.out.trim().split('\n').sort()).toEqual(
      ['api-1', 'api-2', 'coturn', 'machine', 'postgres', 'proxy', 'web'].sort(),
    );
    const r = config(env);
    expect(r.code, r.out).toBe(0);
    // Secrets from the environment reach the services that need them, TURN credentials are the short-lived kind.
    expect(r.out).toContain('DATABASE_URL: postgres://aegis:pg-secret@postgres:5432/aegis');
    expect(r.out).toContain('TURN_URLS: turn:203.0.113.7:3478?transport=udp,turn:203.0.113.7:3478?transport=tcp');
    expect(r.out).toContain('--static-auth-secret=turn-secret');
    expect(r.out).toMatch(/privileged: true/);
    expect(r.out).toMatch(/CONTROL_BASE_URL: http:\/\/proxy:8080/);
  });

  it('refuses to render without a required secret and names it', () => {
    const { POSTGRES_PASSWORD: _omit, ...rest } = env;
    const r = config(rest);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/set POSTGRES_PASSWORD/);
  });
});

describe('deploy/', () => {
  it('haproxy.cfg passes HAProxy’s own check (MCP sessions sticky by Mcp-Session-Id)', () => {
    const r = sh('haproxy', ['-c', '-f', 'deploy/haproxy.cfg']);
    expect(r.code, r.code === -1 ? 'haproxy is not installed: apt-get install haproxy' : r.out).toBe(0);
    expect(r.out).toContain('Configuration file is valid');
  });

  it('aegis-machine.service passes systemd-analyze verify without a warning', () => {
    const r = sh('systemd-analyze', ['verify', 'deploy/aegis-machine.service']);
    expect(r.code, r.code === -1 ? 'systemd-analyze is missing: apt-get install systemd' : r.out).toBe(0);
    expect(r.out.trim()).toBe('');
  });
});
