import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, request, sandboxProcesses, workspace, type Harness } from './helpers.js';
import { detectCgroups } from '../../src/sandbox/index.js';

/**
 * Each attack runs from a project's CMakeLists.txt, which real `idf.py` (ESP-IDF 5.1.6 from the store) hands to CMake
 * in the sandbox: `execute_process` runs at configure time, so it has exactly the rights a build has. The attack
 * projects are not ESP-IDF projects (no compiler runs), so they fail after configuring; what matters is what the
 * attack could reach.
 */
const ATTACK = `
import fs from 'node:fs';
import net from 'node:net';
const [what, ...args] = process.argv.slice(2);
const say = (s) => console.log('ATTACK ' + s);
if (what === 'connect') {
  for (const target of args) {
    const [host, port] = target.split(':');
    await new Promise((resolve) => {
      const s = net.connect({ host, port: Number(port) });
      s.setTimeout(3000, () => { say('CONNECT-FAILED ' + target + ' timeout'); s.destroy(); resolve(); });
      s.on('connect', () => { say('CONNECT-OK ' + target); s.end(); resolve(); });
      s.on('error', (e) => { say('CONNECT-FAILED ' + target + ' ' + e.code); resolve(); });
    });
  }
} else if (what === 'read') {
  for (const f of args) {
    try { say('READ-OK ' + f + ' ' + fs.readFileSync(f, 'utf8').slice(0, 200)); }
    catch (e) { say('READ-FAILED ' + f + ' ' + e.code); }
  }
} else if (what === 'write') {
  for (const f of args) {
    try { fs.writeFileSync(f, 'pwned'); say('WRITE-OK ' + f); }
    catch (e) { say('WRITE-FAILED ' + f + ' ' + e.code); }
  }
} else if (what === 'cpu') {
  const { Worker } = await import('node:worker_threads');
  const burn = 'const end = Date.now() + 2000; while (Date.now() < end) {}';
  const start = Date.now();
  const before = process.cpuUsage();
  await Promise.all([0, 1, 2].map(() => new Promise((r) => new Worker(burn, { eval: true }).on('exit', r))));
  const used = process.cpuUsage(before);
  say('CPU-RATIO ' + ((used.user + used.system) / 1000 / (Date.now() - start)).toFixed(2));
} else if (what === 'memory') {
  const keep = [];
  let mb = 0;
  try {
    for (;;) { keep.push(Buffer.alloc(64 << 20, 1)); mb += 64; if (mb % 256 === 0) say('MEMORY ' + mb); }
  } catch (e) { say('MEMORY-STOPPED ' + mb + ' ' + e.message); }
}
`;

function project(cmake: string): Record<string, string> {
  return {
    'CMakeLists.txt': `cmake_minimum_required(VERSION 3.16)\nproject(attack NONE)\n${cmake}\n`,
    'attack.mjs': ATTACK,
  };
}
const run = (args: string): string => `execute_process(COMMAND node \${CMAKE_CURRENT_SOURCE_DIR}/attack.mjs ${args})`;

let h: Harness;
const secret = `s3cret-${randomBytes(8).toString('hex')}`;
const secretFiles = [path.join(os.tmpdir(), `aegis-secret-${process.pid}`), `/root/aegis-secret-${process.pid}`];

beforeAll(async () => {
  h = await harness();
  for (const f of secretFiles) await writeFile(f, secret, { mode: 0o644 });
});
afterAll(async () => {
  for (const f of secretFiles) await rm(f, { force: true });
  await h?.cleanup();
});

/** After an attack, the next job's sandbox still starts and runs idf.py + CMake (uids and limits were released). */
async function expectStillRuns(): Promise<void> {
  const { req, log } = request(await workspace(h, project('execute_process(COMMAND echo sandbox-still-runs)')), {
    target: 'esp32c3',
  });
  await h.backend.build(req);
  expect(log.text()).toMatch(/^sandbox-still-runs$/m);
}

/** The attack ran (configure reached it); the build itself then fails, as the project builds no firmware. */
function attacked(text: string): void {
  expect(text).toContain('ATTACK ');
}

describe('sandbox escape attempts from a build', { timeout: 300_000 }, () => {
  it('cannot open a TCP connection to a port on the host', async () => {
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    const targets = [`127.0.0.1:${port}`, ...(external ? [`${external}:${port}`] : [])];
    try {
      const { req, log } = request(await workspace(h, project(run(`connect ${targets.join(' ')}`))));
      await h.backend.build(req);
      attacked(log.text());
      expect(log.text()).toContain(`ATTACK CONNECT-FAILED 127.0.0.1:${port} ECONNREFUSED`);
      expect(log.text()).not.toContain('CONNECT-OK');
      expect(accepted).toBe(0);
    } finally {
      server.close();
    }
  });

  it('cannot read files outside the workspace and the store', async () => {
    const repoFile = path.resolve(__dirname, '../../package.json');
    const files = [...secretFiles, repoFile, '/etc/shadow', path.join(h.cacheDir, 'builds')];
    const { req, log } = request(await workspace(h, project(run(`read ${files.join(' ')}`))));
    await h.backend.build(req);
    attacked(log.text());
    for (const f of files) expect(log.text()).toMatch(new RegExp(`ATTACK READ-FAILED ${f} (ENOENT|EACCES)`));
    expect(log.text()).not.toContain('READ-OK');
    expect(log.text()).not.toContain(secret);
  });

  it('cannot write outside the workspace', async () => {
    const storeFile = path.join(h.storeRoot, 'idf/5.1.6/esp-idf/tools/pwned');
    const hostTmp = path.join(os.tmpdir(), `aegis-pwned-${process.pid}`);
    // /ws is the job's own workspace (writable); the artifacts the machine serves live beside it, not under it.
    const files = ['/usr/pwned', '/etc/pwned', storeFile, '/artifacts/pwned', hostTmp];
    const ws = await workspace(h, project(run(`write ${files.join(' ')}`)));
    const { req, log } = request(ws);
    await h.backend.build(req);
    attacked(log.text());
    for (const f of ['/usr/pwned', '/etc/pwned', storeFile, '/artifacts/pwned']) {
      expect(log.text()).toMatch(new RegExp(`ATTACK WRITE-FAILED ${f} (EROFS|EACCES|ENOENT)`));
    }
    // the sandbox's /tmp is its own tmpfs: a write there never reaches the host's /tmp
    expect(existsSync(hostTmp)).toBe(false);
    expect(existsSync(storeFile)).toBe(false);
    expect(existsSync(path.join(path.dirname(ws), 'artifacts', 'pwned'))).toBe(false);
    await expect(h.backend.reloadStore()).resolves.toBeUndefined();
  });

  it('a fork bomb is bounded by the process limit and killed at the timeout', async () => {
    const bomb = `execute_process(COMMAND sh -c "b() { b | b & }; b; sleep 60 # bomb-marker")`;
    const { req, log } = request(await workspace(h, project(bomb)), { timeoutSecs: 25 });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('build_timeout');
    // the shell hit RLIMIT_NPROC: fork failed instead of the host running out of processes
    expect(log.text()).toMatch(/Cannot fork|Resource temporarily unavailable/i);
    expect(sandboxProcesses('bomb-marker')).toBe(0);
    await expectStillRuns();
  });

  it('a memory bomb is stopped by the memory limit', async () => {
    const { req, log } = request(await workspace(h, project(run('memory'))), { memoryMb: 768 });
    await h.backend.build(req);
    // the bomb dies; configure goes on like CMake does
    attacked(log.text());
    const reached = Math.max(0, ...[...log.text().matchAll(/ATTACK MEMORY (\d+)/g)].map((m) => Number(m[1])));
    // with cgroups the whole tree is capped at the grant's 768 MiB; with rlimits only, each process at 1536 MiB
    expect(reached).toBeLessThan((await detectCgroups()) ? 768 : 1536);
    await expectStillRuns();
  });

  it('a build running past its timeout is killed with all its processes', async () => {
    const { req, log } = request(await workspace(h, project('execute_process(COMMAND sleep 601)')), {
      timeoutSecs: 20,
    });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('build_timeout');
    expect(log.text()).toContain('time limit');
    expect(sandboxProcesses('sleep\u0000601')).toBe(0);
    await expectStillRuns();
  });

  it('the sandbox has no capabilities, runs as uid 1000 and sees only its own processes', async () => {
    const probe =
      'execute_process(COMMAND sh -c "id -u; grep CapEff /proc/self/status; ls /proc | grep -c [0-9]; ls /; ' +
      `ls -A ${path.dirname(h.storeRoot)} | sed s/^/IN-STORE-PARENT:/")`;
    const { req, log } = request(await workspace(h, project(probe)));
    await h.backend.build(req);
    const text = log.text();
    expect(text).toMatch(/^1000$/m);
    expect(text).toMatch(/CapEff:\s+0000000000000000/);
    // beside the store nothing of the host is visible
    expect([...text.matchAll(/^IN-STORE-PARENT:(.*)$/gm)].map((m) => m[1])).toEqual([path.basename(h.storeRoot)]);
    const procCount = Number(/^(\d+)$/m.exec(text.split('CapEff')[1] ?? '')?.[1]);
    expect(procCount).toBeLessThan(15);
    // the store is mounted read-only at its own path, so its top directory shows (here /work, holding only it)
    const storeTop = h.storeRoot.split('/')[1];
    for (const hostDir of ['root', 'work', 'home'].filter((d) => d !== storeTop))
      expect(text).not.toMatch(new RegExp(`^${hostDir}$`, 'm'));
  });

  it('the CPU quota holds a build to the cores of its grant', async () => {
    const cgroups = await detectCgroups();
    const { req, log } = request(await workspace(h, project(run('cpu'))), { cpuCores: 1 });
    await h.backend.build(req);
    attacked(log.text());
    const ratio = Number(/ATTACK CPU-RATIO ([\d.]+)/.exec(log.text())?.[1]);
    expect(ratio).toBeGreaterThan(0);
    // three busy threads for 2 s would use ~2 cores on this 2-core host; the quota allows 1
    if (cgroups) expect(ratio).toBeLessThan(1.3);
  });
});
