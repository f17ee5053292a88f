#!/usr/bin/env node
// Control API benchmark: grant requests/s and latency on SQLite and PostgreSQL, and the API's CPU while
// 500 machines hold idle long-polls. Baselines are measured in the same run (GET /health req/s; idle CPU).
// Needs the built API and testkit: `npx tsc -b apps/api/tsconfig.build.json libs/testkit/tsconfig.build.json`.
import http from 'node:http';
import os from 'node:os';
import autocannon from 'autocannon';
import { createMachineToken, createUser, startApi } from '../libs/testkit/dist/index.js';

const PG_URL = process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
const DURATION = Number(process.env.BENCH_SECS || 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const USERS = Number(process.env.BENCH_USERS || 100);
const POLLERS = Number(process.env.BENCH_POLLERS || 500);
const UNLIMITED = {
  GRANT_RATE_PER_MIN: '100000000',
  USER_DAILY_JOBS: '100000000',
  // Realistic per-user concurrency (the in-flight count is bounded by it); many users share the load.
  USER_MAX_CONCURRENT_JOBS: '1000',
  USER_MAX_QUEUED_JOBS: '1000',
  AEGIS_DEBUG_ENDPOINTS: '1',
  LOG_LEVEL: 'warn',
};
const FP = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
const GRANT = JSON.stringify({
  peer_fingerprint: { algorithm: 'sha-256', value: FP },
  required_channels: ['espctl', 'firmware'],
});

const heartbeat = (name, slots = 4) => ({
  v: 1,
  name,
  agent_version: 'bench',
  capacity: { total_slots: slots, free_slots: slots, cpu_cores: 8, memory_mb: 16384 },
  idf_versions: ['5.3.1'],
  targets: ['esp32c3'],
  running_job_ids: [],
});

async function post(url, key, route, body) {
  const r = await fetch(url + route, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${route} → ${r.status} ${await r.text()}`);
  return r.json();
}

function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

const fmt = (r) => ({
  total: r.requests.total,
  rps: Math.round(r.requests.average),
  p50: r.latency.p50,
  p99: r.latency.p99,
  errors: r.errors + r.timeouts + (r.non2xx ?? 0),
});

async function grantBench(db) {
  const api = await startApi({ ...(db === 'postgres' ? { databaseUrl: PG_URL } : {}), env: UNLIMITED });
  try {
    const m = await createMachineToken(api.url, api.adminKey, 'bench-machine');
    await post(api.url, m.token, '/agents/register', heartbeat('bench-machine', 64));
    const keys = [];
    for (let i = 0; i < USERS; i++) keys.push(await createUser(api.url, api.adminKey, 'user', `bench-${i}`));
    // Warm-up (JIT, connection pool, caches).
    await cannon({ url: `${api.url}/health`, duration: 2 });
    let c0 = await cpu(api.url);
    const health = fmt(await cannon({ url: `${api.url}/health` }));
    health.cpuMs = (await cpu(api.url)) - c0;
    c0 = await cpu(api.url);
    const grants = fmt(
      await cannon({
        url: api.url,
        requests: keys.map((k) => ({
          method: 'POST',
          path: '/grant/request',
          headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
          body: GRANT,
        })),
      }),
    );
    grants.cpuMs = (await cpu(api.url)) - c0;
    return { db, health, grants };
  } finally {
    await api.stop();
  }
}

async function cpu(url) {
  const r = await fetch(`${url}/debug/cpu`);
  const j = await r.json();
  return (j.user_us + j.system_us) / 1000;
}

async function cpuOver(url, ms) {
  const c0 = await cpu(url);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const c1 = await cpu(url);
  return ((c1 - c0) / (performance.now() - t0)) * 100; // % of one core
}

async function longPollBench() {
  const api = await startApi({ env: { ...UNLIMITED, HEARTBEAT_INTERVAL_SECS: '60' } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: POLLERS + 10 });
  let stop = false;
  let polls = 0;
  try {
    const tokens = [];
    for (let i = 0; i < POLLERS; i++) {
      const m = await createMachineToken(api.url, api.adminKey, `idle-${i}`);
      await post(api.url, m.token, '/agents/register', heartbeat(`idle-${i}`));
      tokens.push(m.token);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await cpuOver(api.url, 5000);
    const u = new URL(api.url);
    const pollOnce = (token) =>
      new Promise((resolve) => {
        const rq = http.get(
          {
            host: u.hostname,
            port: u.port,
            path: '/agents/jobs?wait=25',
            agent,
            headers: { authorization: `Bearer ${token}` },
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        rq.on('error', resolve);
      });
    const loops = tokens.map(async (t) => {
      while (!stop) {
        polls++;
        await pollOnce(t);
      }
    });
    await new Promise((r) => setTimeout(r, 3000)); // every poller connected and waiting
    const metrics = await fetch(`${api.url}/metrics`).then((r) => r.text());
    const open = Number(/aegis_long_polls_open (\d+)/.exec(metrics)?.[1] ?? 0);
    const busy = await cpuOver(api.url, 10_000);
    stop = true;
    void loops;
    return { idle, busy, open, polls };
  } finally {
    agent.destroy();
    await api.stop();
  }
}

const results = [];
for (const db of ['sqlite', 'postgres']) {
  try {
    results.push(await grantBench(db));
  } catch (e) {
    console.error(`${db}: ${e.message}`);
  }
}
console.log(`\nGrant requests (${CONNECTIONS} connections, ${DURATION} s, ${USERS} users, one API process)`);
console.log(
  '| database | GET /health req/s (baseline) | grants/s | grants p50 ms | grants p99 ms | errors | grants / baseline | API CPU ms per /health | API CPU ms per grant | grants/s per API core (CPU-bound) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const perHealth = r.health.cpuMs / r.health.total;
  const perGrant = r.grants.cpuMs / r.grants.total;
  console.log(
    `| ${r.db} | ${r.health.rps} | ${r.grants.rps} | ${r.grants.p50} | ${r.grants.p99} | ${r.grants.errors} | ${(r.grants.rps / r.health.rps).toFixed(2)} | ${perHealth.toFixed(3)} | ${perGrant.toFixed(3)} | ${Math.round(1000 / perGrant)} |`,
  );
}
console.log(
  `(load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores while measuring; the CPU-per-request columns depend on it far less than req/s and latency)`,
);

const lp = await longPollBench();
console.log(`\nIdle long-polls (SQLite): ${lp.open} open of ${POLLERS} machines`);
console.log('| state | API CPU, % of one core |');
console.log('|---|---|');
console.log(`| no pollers (baseline) | ${lp.idle.toFixed(2)} |`);
console.log(`| ${POLLERS} idle long-polls | ${lp.busy.toFixed(2)} |`);
console.log(`| added by the long-polls | ${(lp.busy - lp.idle).toFixed(2)} |`);
const ok = results.every((r) => r.grants.rps >= 1500 && r.grants.p99 < 50) && lp.busy - lp.idle < 5;
console.log(`\nAims (≥1,500 grants/s, p99 < 50 ms, long-polls < 5% of a core): ${ok ? 'met' : 'NOT met'}`);
