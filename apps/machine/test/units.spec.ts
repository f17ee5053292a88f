import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { safeUntar, unsafePathReason } from '../src/channels/safe-untar.js';
import { LogBuffer } from '../src/jobs/log-buffer.js';
import { JobRegistry } from '../src/jobs/job-registry.js';
import { Backoff } from '../src/control/backoff.js';
import { makeTar } from './tar-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'aegis-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const argv = (...a: string[]) => ['node', 'aegis-machine', ...a];
const TOKEN = 'aegis_m_abc';

describe('config', () => {
  it('reads env, lets flags win, and refuses to start without trusted keys', () => {
    const env = {
      CONTROL_BASE_URL: 'http://127.0.0.1:1',
      AEGIS_MACHINE_TOKEN: TOKEN,
      AEGIS_TRUSTED_JWKS: '/k.json',
      AEGIS_MACHINE_SLOTS: '3',
    };
    const c = loadConfig(argv('--slots', '5', '--sandbox', 'none'), env);
    expect(c).toMatchObject({ slots: 5, sandbox: 'none', trustedJwks: '/k.json', retentionMins: 7 * 24 * 60 });
    expect(c.resultsDiskCapMb).toBe(20 * 1024);
    expect(() => loadConfig(argv(), { ...env, AEGIS_TRUSTED_JWKS: '' })).toThrow(ConfigError);
    expect(() => loadConfig(argv(), { ...env, AEGIS_MACHINE_TOKEN: 'nope' })).toThrow(/aegis_m_/);
    expect(loadConfig(argv('--trust-on-first-use'), { ...env, AEGIS_TRUSTED_JWKS: '' }).trustOnFirstUse).toBe(true);
  });

  it('reads a TOML or JSON file, under env and flags', () => {
    const toml = join(tmp, 'm.toml');
    writeFileSync(
      toml,
      `apiUrl = "http://127.0.0.1:2"\ntoken = "${TOKEN}"\ntrustedJwks = "/j"\nslots = 2\nretentionMins = 30\n`,
    );
    expect(loadConfig(argv('-c', toml), {})).toMatchObject({
      apiUrl: 'http://127.0.0.1:2',
      slots: 2,
      retentionMins: 30,
    });
    expect(loadConfig(argv('-c', toml), { AEGIS_MACHINE_SLOTS: '4' }).slots).toBe(4);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{');
    expect(() => loadConfig(argv('-c', bad), {})).toThrow(/not valid JSON/);
  });
});

describe('safeUntar', () => {
  it('unpacks plain files and directories into <ws>/project', async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const tar = join(ws, 'u.tar');
    writeFileSync(
      tar,
      makeTar([
        { name: 'a/', type: '5' },
        { name: 'a/b.txt', data: 'hi' },
      ]),
    );
    expect(await safeUntar(tar, ws)).toEqual({ files: 1, bytes: 2 });
    expect(readFileSync(join(ws, 'project/a/b.txt'), 'utf8')).toBe('hi');
  });

  it('changes nothing when any entry is unsafe, and keeps the previous project', async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const tar = join(ws, 'u.tar');
    writeFileSync(tar, makeTar([{ name: 'keep.txt', data: 'v1' }]));
    await safeUntar(tar, ws);
    writeFileSync(
      tar,
      makeTar([
        { name: 'new.txt', data: 'v2' },
        { name: 'x/../../out.txt', data: 'no' },
      ]),
    );
    await expect(safeUntar(tar, ws)).rejects.toMatchObject({ code: 'unsafe_archive' });
    expect(readFileSync(join(ws, 'project/keep.txt'), 'utf8')).toBe('v1');
    expect(existsSync(join(ws, 'project/new.txt'))).toBe(false);
    expect(existsSync(join(ws, 'out.txt'))).toBe(false);
  });

  it('enforces file count and unpacked size limits', async () => {
    const ws = mkdtempSync(join(tmp, 'ws-'));
    const tar = join(ws, 'u.tar');
    writeFileSync(
      tar,
      makeTar([
        { name: 'a', data: 'x'.repeat(100) },
        { name: 'b', data: 'y' },
      ]),
    );
    await expect(safeUntar(tar, ws, { maxFiles: 1, maxUnpackedBytes: 1000 })).rejects.toThrow(/more than 1 files/);
    await expect(safeUntar(tar, ws, { maxFiles: 10, maxUnpackedBytes: 50 })).rejects.toThrow(/unpacked bytes/);
  });

  it('names what is wrong with a path', () => {
    expect(unsafePathReason('a/b')).toBeUndefined();
    expect(unsafePathReason('/etc/x')).toMatch(/absolute/);
    expect(unsafePathReason('C:/x')).toMatch(/absolute/);
    expect(unsafePathReason('a/../../x')).toMatch(/\.\./);
    expect(unsafePathReason('a\\b')).toMatch(/backslash/);
  });
});

describe('LogBuffer', () => {
  it('numbers lines without gaps and replays from any seq', () => {
    const b = new LogBuffer({ now: () => 5 });
    for (let i = 0; i < 10; i++) b.append('stdout', `l${i}`);
    expect(b.read(3, 4)).toMatchObject({ next_seq: 7, more: true });
    expect(b.read(3, 4).lines.map((l) => l.seq)).toEqual([3, 4, 5, 6]);
    expect(b.read(8)).toMatchObject({ next_seq: 10, more: false });
    expect(b.read(50)).toMatchObject({ lines: [], next_seq: 10, more: false });
  });

  it('keeps the first lines up to its byte cap and counts the rest (more in log-flow.spec.ts)', () => {
    const b = new LogBuffer({ capBytes: 1000 });
    for (let i = 0; i < 100; i++) b.append('stdout', 'x'.repeat(8));
    const r = b.read(0, 1000);
    expect(r.lines[0].seq).toBe(0);
    expect(r.lines[r.lines.length - 1].text).toMatch(/^Log cap reached/);
    expect(b.dropped.lines).toBeGreaterThan(0);
  });
});

describe('JobRegistry retention', () => {
  it('keeps finished jobs for the retention time, then deletes their workspace', async () => {
    let now = 1_000_000;
    const reg = new JobRegistry(mkdtempSync(join(tmp, 'reg-')), 15 * 60_000, () => now);
    const job = await reg.create({ id: 'j1', userId: 'u', params: { cpu_cores: 1, memory_mb: 256, timeout_secs: 60 } });
    job.attached = 1;
    now += 60 * 60_000;
    expect(await reg.sweep()).toEqual([]);
    job.attached = 0;
    reg.touch('j1');
    now += 14 * 60_000;
    expect(await reg.sweep()).toEqual([]);
    now += 2 * 60_000;
    expect(await reg.sweep()).toEqual(['j1']);
    expect(existsSync(job.workspaceDir)).toBe(false);
  });
});

describe('Backoff', () => {
  it('grows exponentially with jitter up to the cap and resets', () => {
    const b = new Backoff(100, 1000, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(new Backoff(100, 1000, () => 0).next()).toBe(50);
    expect(b.next()).toBe(100);
  });
});

describe('trust on first use (development only)', () => {
  it('fetches the API JWKS once, saves it, trusts its kids and says so loudly', async () => {
    const { createServer } = await import('node:http');
    const { pino } = await import('pino');
    const { makeSigner } = await import('./grant-fixtures.js');
    const { trustOnFirstUse } = await import('../src/trust-on-first-use.js');
    const signer = await makeSigner('tofu-kid');
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url === '/.well-known/jwks.json') res.end(JSON.stringify(signer.jwks));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    try {
      const save = join(tmp, 'tofu.json');
      const keys = await trustOnFirstUse(`http://127.0.0.1:${(server.address() as { port: number }).port}`, save, log);
      expect(keys.kids()).toEqual(['tofu-kid']);
      expect(await keys.get('tofu-kid')).toBeDefined();
      expect(await keys.get('other')).toBeUndefined();
      expect(hits).toBe(1);
      expect(JSON.parse(readFileSync(save, 'utf8'))).toEqual(signer.jwks);
      expect(lines.join('')).toMatch(/trust-on-first-use/);
    } finally {
      server.close();
    }
  });
});
