// The build queue under load (issue 14): 3 machines (one slot each) on 2 API instances sharing one PostgreSQL,
// 60 builds from 10 users submitted at once through the real path (grant → queue → claim → WebRTC → upload →
// build), with a trivial build backend (bench/queue-machine.mjs): this measures scheduling, not compilers.
// Checks: every build ends with its own result (its nonce in its log), none lost or run twice, each user's
// share of the machines within ±1 of fair at every point of the run. Measures: slot free → next job claimed and
// → next build started (median, p95), a machine taking a job (its grant signed) → the client's first log line,
// how good the queue places and estimates told to clients were (jobs that really started first vs `ahead`, and
// the real wait vs `estimate_secs`), and API CPU with 1,000 idle machines long-polling.
// Run inside a private network namespace (bench/run.mjs does); PostgreSQL is reached over its Unix socket.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { create as tarCreate } from 'tar';
import { loopbackRtcConfig, startRemoteSession } from '../libs/peer/dist/index.js';
import { createMachineToken, createUser, dropSchema, freshSchema, startApi } from '../libs/testkit/dist/api.js';
import { startMachine } from '../libs/testkit/dist/machine.js';

const PG_SOCKET_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@localhost/test?host=/var/run/postgresql';
const USERS = Number(process.env.BENCH_USERS ?? 10);
const PER_USER = Number(process.env.BENCH_PER_USER ?? 6);
const MACHINES = Number(process.env.BENCH_MACHINES ?? 3);
const LINES = Number(process.env.BENCH_LINES ?? 10);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 30);
const POLLERS = Number(process.env.BENCH_POLLERS ?? 1000);

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${Math.round(x)} ms`;
const parse = (line) => {
  try {
    return JSON.parse(line);
  } catch {
    return {};
  }
};

function projectTar(nonce) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-queue-'));
  writeFileSync(join(dir, 'bench.json'), JSON.stringify({ nonce, lines: LINES, delayMs: DELAY_MS }));
  const file = join(dir, 'p.tar');
  tarCreate({ cwd: dir, file, sync: true, portable: true }, ['bench.json']);
  const buf = readFileSync(file);
  rmSync(dir, { recursive: true, force: true });
  return buf;
}

/** One client build end to end; returns what it saw. */
async function oneBuild(apiUrl, key, user) {
  const nonce = randomUUID();
  const t = { submitted: Date.now(), assigned: 0, firstLine: 0, done: 0 };
  const places = [];
  const s = await startRemoteSession({
    baseUrl: apiUrl,
    apiKey: key,
    rtcConfig: loopbackRtcConfig,
    request: { required_channels: ['espctl', 'firmware'] },
    timeoutMs: 60_000,
    onEvent: (e) => {
      if (e.type === 'assigned') t.assigned = Date.now();
      if (e.type === 'state' && e.queue) places.push(e.queue.position);
    },
  });
  try {
    await s.espctl.uploadProject(projectTar(nonce));
    const first = new Promise((resolve) => {
      const off = s.espctl.on('logs', () => {
        off();
        resolve(Date.now());
      });
    });
    const ended = s.espctl.waitForBuild();
    await s.espctl.call('build.start', {});
    const status = await ended;
    t.firstLine = await first;
    t.done = Date.now();
    const page = await s.espctl.call('log.read', { since_seq: 0, limit: 1000 });
    const own = page.lines.length === LINES && page.lines.every((l) => l.text.includes(nonce));
    const fw = await s.firmware.fetch('app.bin');
    const fwOwn = Buffer.from(fw.data).toString().includes(nonce);
    return { user, jobId: s.jobId, state: status.state, own: own && fwOwn, places, t };
  } finally {
    await s.close();
  }
}

async function cpuMs(url) {
  const j = await (await fetch(`${url}/debug/cpu`)).json();
  return (j.user_us + j.system_us) / 1000;
}
async function cpuOver(url, spanMs) {
  const c0 = await cpuMs(url);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, spanMs));
  return (((await cpuMs(url)) - c0) / (performance.now() - t0)) * 100; // % of one core
}

const schema = freshSchema();
const env = {
  GRANT_RATE_PER_MIN: '1000',
  // Every user's builds are queued at once; USER_MAX_CONCURRENT_JOBS stays at its default (4 running per user).
  USER_MAX_QUEUED_JOBS: String(PER_USER + 4),
  AEGIS_DEBUG_ENDPOINTS: '1',
  LOG_LEVEL: 'warn',
};
const a = await startApi({ databaseUrl: PG_SOCKET_URL, schema, env });
const b = await startApi({ databaseUrl: PG_SOCKET_URL, schema, env, adminKey: a.adminKey });
const apis = [a, b];
const machines = [];
let failed = false;
// BENCH_E2E=0 skips the WebRTC part (60 werift clients), e.g. to measure the scheduler alone.
if (process.env.BENCH_E2E !== '0')
  try {
    for (let i = 0; i < MACHINES; i++) {
      const api = apis[i % 2];
      const { token } = await createMachineToken(api.url, api.adminKey, `queue-${i}`);
      machines.push(
        await startMachine({
          apiUrl: api.url,
          token,
          jwksPath: a.jwksPath,
          entry: fileURLToPath(new URL('./queue-machine.mjs', import.meta.url)),
          env: { LOG_LEVEL: process.env.BENCH_MACHINE_LOG ?? 'info', AEGIS_MACHINE_SLOTS: '1' },
        }),
      );
    }
    const users = [];
    for (let u = 0; u < USERS; u++) users.push({ u, api: apis[u % 2], key: await createUser(a.url, a.adminKey) });

    // Everyone at once.
    const t0 = Date.now();
    const results = await Promise.allSettled(
      users.flatMap(({ u, api, key }) => Array.from({ length: PER_USER }, () => oneBuild(api.url, key, u))),
    );
    const wall = Date.now() - t0;
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.message ?? String(r.reason));

    // What the machines ran: each job exactly once.
    const runs = machines.flatMap((m) =>
      m.output
        .map(parse)
        .filter((l) => l.msg === 'bench build start' || l.msg === 'bench build end')
        .map((l) => ({
          machineId: m.machineId,
          jobId: l.jobId,
          at: l.at,
          kind: l.msg.endsWith('start') ? 'start' : 'end',
        })),
    );
    const starts = runs.filter((r) => r.kind === 'start');
    const runCount = new Map();
    for (const r of starts) runCount.set(r.jobId, (runCount.get(r.jobId) ?? 0) + 1);
    const twice = [...runCount.values()].filter((n) => n > 1).length;
    const lost = ok.filter((r) => !runCount.has(r.jobId)).length + errors.length;
    const notOwn = ok.filter((r) => r.state !== 'succeeded' || !r.own).length;

    // The API's record: who got a machine when, and where.
    const db = new pg.Client({ connectionString: PG_SOCKET_URL });
    await db.connect();
    const { rows } = await db.query(
      `SELECT id, user_id, machine_id, assigned_at, offered_at FROM "${schema}".jobs WHERE kind = 'build' AND assigned_at IS NOT NULL ORDER BY assigned_at`,
    );
    // Places as the API announced them (its own clock, no client-side delay), and why a job did not succeed.
    const { rows: places } = await db.query(
      `SELECT job_id, payload, created_at FROM "${schema}".signaling_events WHERE audience = 'client' AND type = 'state' ORDER BY seq`,
    );
    const { rows: unhappy } = await db.query(
      `SELECT state, error FROM "${schema}".jobs WHERE kind = 'build' AND state <> 'succeeded'`,
    );
    await db.end();
    // Fair share: after k builds were taken, each user had k/USERS ± 1 of them.
    const byUser = new Map();
    const ids = new Set(rows.map((x) => x.user_id));
    let worst = 0;
    rows.forEach((r, i) => {
      byUser.set(r.user_id, (byUser.get(r.user_id) ?? 0) + 1);
      const k = i + 1;
      const fair = k / USERS;
      for (const id of ids) worst = Math.max(worst, Math.abs((byUser.get(id) ?? 0) - fair));
    });

    // Slot free (a build's end on a machine) → the next job claimed by / started on that machine. A job whose offer
    // arrived after the slot freed could not have been taken earlier: its wait counts from its offer.
    const toClaim = [];
    const toStart = [];
    const offeredAt = new Map(rows.map((r) => [Number(r.assigned_at), Number(r.offered_at)]));
    for (const m of machines) {
      const ends = runs.filter((r) => r.machineId === m.machineId && r.kind === 'end').map((r) => r.at);
      const mineStarts = starts
        .filter((r) => r.machineId === m.machineId)
        .map((r) => r.at)
        .sort((x, y) => x - y);
      const claims = rows
        .filter((r) => r.machine_id === m.machineId)
        .map((r) => Number(r.assigned_at))
        .sort((x, y) => x - y);
      for (const e of ends) {
        const c = claims.find((x) => x >= e);
        const s = mineStarts.find((x) => x >= e);
        if (c !== undefined) toClaim.push(c - Math.max(e, offeredAt.get(c) ?? e));
        if (s !== undefined) toStart.push(s - e);
      }
    }
    const claimToFirstLine = ok.map((r) => r.t.firstLine - r.t.assigned);
    const submitToDone = ok.map((r) => r.t.done - r.t.submitted);
    const sawPlace = ok.filter((r) => r.places.length > 0).length;
    // Places told once the whole burst was queued (earlier, later arrivals of users with fewer turns still move in
    // front, as round-robin wants): the first `ahead` told after that vs the builds really assigned in between (all
    // machines here build everything), and the first `estimate_secs` vs the real wait from then to assigned.
    const allQueuedAt = Math.max(...rows.map((r) => Number(r.offered_at)));
    const assignedAts = rows.map((r) => Number(r.assigned_at));
    const toldOf = new Map();
    for (const p of places) {
      const q = (typeof p.payload === 'string' ? JSON.parse(p.payload) : p.payload).queue;
      if (!q) continue;
      const list = toldOf.get(p.job_id) ?? [];
      list.push({ at: Number(p.created_at), ahead: q.ahead ?? q.position - 1, estimate: q.estimate_secs });
      toldOf.set(p.job_id, list);
    }
    const aheadErr = [];
    const etaErr = [];
    const etaTold = [];
    for (const r of rows) {
      const own = Number(r.assigned_at);
      const told = toldOf.get(r.id) ?? [];
      const place = told.find((x) => x.at > allQueuedAt && x.at < own);
      if (place) aheadErr.push(Math.abs(place.ahead - assignedAts.filter((x) => x > place.at && x < own).length));
      const eta = told.find((x) => x.at > allQueuedAt && x.at < own && x.estimate !== null);
      if (eta) {
        etaErr.push(Math.abs(eta.estimate * 1000 - (own - eta.at)));
        etaTold.push(eta.estimate);
      }
    }
    // Fairness the scheduler controls: at every assignment, among the users who had a job waiting then, the spread
    // of the turns they took since the last of them joined (a user who arrived late cannot have had earlier turns).
    let spread = 0;
    {
      const firstOffer = new Map();
      for (const r of rows)
        firstOffer.set(r.user_id, Math.min(firstOffer.get(r.user_id) ?? Infinity, Number(r.offered_at)));
      for (const r of rows) {
        const at = Number(r.assigned_at);
        const waiting = new Set(
          rows.filter((x) => Number(x.offered_at) <= at && Number(x.assigned_at) >= at).map((x) => x.user_id),
        );
        if (waiting.size < 2) continue;
        const joined = Math.max(...[...waiting].map((u) => firstOffer.get(u)));
        const t = [...waiting].map(
          (u) =>
            rows.filter((x) => x.user_id === u && Number(x.assigned_at) >= joined && Number(x.assigned_at) <= at)
              .length,
        );
        spread = Math.max(spread, Math.max(...t) - Math.min(...t));
      }
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    console.log(
      `load average ${load} on ${(await import('node:os')).availableParallelism()} cores during the run (other work shares this host)`,
    );
    console.log(
      `${USERS * PER_USER} builds from ${USERS} users at once; ${MACHINES} machines × 1 slot; 2 API instances on one PostgreSQL; build = ${LINES} lines × ${DELAY_MS} ms`,
    );
    console.log(
      `  finished with their own result: ${ok.length - notOwn} / ${USERS * PER_USER}; lost ${lost}; run twice ${twice}`,
    );
    if (errors.length) console.log(`  errors: ${[...new Set(errors)].slice(0, 3).join(' | ')}`);
    for (const u of unhappy) console.log(`  not succeeded: ${u.state} ${JSON.stringify(u.error)}`);
    console.log(`  saw their place in the queue: ${sawPlace} / ${ok.length}`);
    console.log(
      `  place told (after the burst was queued) vs builds that really started first: |error| median ${pct(aheadErr, 50)}, p95 ${pct(aheadErr, 95)} (n=${aheadErr.length})`,
    );
    console.log(
      `  wait estimate vs real wait: |error| median ${ms(pct(etaErr, 50))}, p95 ${ms(pct(etaErr, 95))} (n=${etaErr.length}; told median ${pct(etaTold, 50)} s)`,
    );
    console.log(
      `  fair share: worst deviation from k/${USERS} after k builds = ${worst.toFixed(2)} (aim ≤ 1; late arrivals count against it); turns since the last of them joined, spread among users waiting at each assignment = ${spread}`,
    );
    console.log(
      `  slot free → next job claimed: median ${ms(pct(toClaim, 50))}, p95 ${ms(pct(toClaim, 95))} (n=${toClaim.length}; aim ≤ 100 ms median)`,
    );
    console.log(
      `  slot free → next build started: median ${ms(pct(toStart, 50))}, p95 ${ms(pct(toStart, 95))} (WebRTC connect + upload included)`,
    );
    console.log(
      `  machine takes job (grant signed) → first log line: median ${ms(pct(claimToFirstLine, 50))}, p95 ${ms(pct(claimToFirstLine, 95))}`,
    );
    console.log(
      `  submit → done: median ${ms(pct(submitToDone, 50))}, p95 ${ms(pct(submitToDone, 95))}; wall ${ms(wall)}`,
    );
    failed = lost > 0 || twice > 0 || notOwn > 0 || worst > 1;
  } finally {
    if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, machines.flatMap((m) => m.output).join('\n'));
    for (const m of machines) await m.stop().catch(() => undefined);
  }

// The scheduler alone: the same 60 jobs queued over REST, 3 simulated agents speaking the agents' HTTP protocol
// (poll with free=1, claim, report running, "build" 300 ms, report succeeded, poll again at once). Without 60 WebRTC
// clients on the host this isolates the API's part of slot free → next job claimed.
async function schedulerOnly() {
  const FINGERPRINT = {
    algorithm: 'sha-256',
    value: Array.from({ length: 32 }, () => 'AB').join(':'),
  };
  const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
  const call = async (url, key, method, path, body) => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  const hb = (name) => ({
    v: 1,
    name,
    agent_version: 'bench',
    capacity: { total_slots: 1, free_slots: 1, cpu_cores: 4, memory_mb: 4096 },
    idf_versions: ['sim-1.0'],
    targets: ['esp32c3'],
  });
  const sims = [];
  for (let i = 0; i < MACHINES; i++) {
    const api = apis[i % 2];
    const { token } = await createMachineToken(api.url, api.adminKey, `sim-${i}`);
    await call(api.url, token, 'POST', '/agents/register', hb(`sim-${i}`));
    sims.push({ api, token });
  }
  const keys = [];
  for (let u = 0; u < USERS; u++) keys.push({ api: apis[u % 2], key: await createUser(a.url, a.adminKey) });
  await Promise.all(
    keys.flatMap(({ api, key }) =>
      Array.from({ length: PER_USER }, async () => {
        const g = await call(api.url, key, 'POST', '/grant/request', {
          peer_fingerprint: FINGERPRINT,
          required_channels: ['espctl'],
          idf_version: 'sim-1.0',
        });
        if (g.status !== 201) throw new Error(`grant: ${g.status} ${JSON.stringify(g.body)}`);
        await call(api.url, key, 'POST', `/signaling/${g.body.job_id}/offer`, OFFER);
      }),
    ),
  );
  const gaps = [];
  const pollMs = [];
  const claimMs = [];
  const taken = [];
  let left = USERS * PER_USER;
  await Promise.all(
    sims.map(async ({ api, token }) => {
      let freedAt;
      while (left > 0) {
        const t0 = performance.now();
        const p = await call(api.url, token, 'GET', '/agents/jobs?wait=2&free=1');
        const t1 = performance.now();
        const job = p.body?.jobs?.find((j) => !taken.includes(j.job_id));
        if (!job) continue;
        const c = await call(api.url, token, 'POST', `/agents/jobs/${job.job_id}/claim`);
        if (c.status !== 200) continue;
        if (freedAt !== undefined) {
          gaps.push(performance.now() - freedAt);
          pollMs.push(t1 - t0);
          claimMs.push(performance.now() - t1);
        }
        taken.push(job.job_id);
        left--;
        await call(api.url, token, 'POST', `/agents/jobs/${job.job_id}/state`, { state: 'running' });
        await new Promise((r) => setTimeout(r, 300));
        await call(api.url, token, 'POST', `/agents/jobs/${job.job_id}/state`, { state: 'succeeded', exit_code: 0 });
        freedAt = performance.now();
      }
    }),
  );
  const twice = taken.length - new Set(taken).size;
  // Baseline in the same run: two authenticated requests in a row (what a poll + a claim cost at the least).
  const pair = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await call(a.url, keys[0].key, 'GET', '/me');
    await call(b.url, keys[0].key, 'GET', '/me');
    pair.push(performance.now() - t);
  }
  console.log(
    `  scheduler only (${MACHINES} simulated agents, HTTP): slot free → next job claimed median ${ms(pct(gaps, 50))}, p95 ${ms(pct(gaps, 95))} (n=${gaps.length}; poll ${ms(pct(pollMs, 50))} + claim ${ms(pct(claimMs, 50))}); ${new Set(taken).size} / ${USERS * PER_USER} taken, ${twice} twice`,
  );
  console.log(
    `  baseline, two GET /me in a row: median ${ms(pct(pair, 50))} → slot free → claim = ${(pct(gaps, 50) / pct(pair, 50)).toFixed(1)}× two plain requests`,
  );
  if (twice) failed = true;
}
await schedulerOnly();

// 1,000 idle machines long-polling one instance (PostgreSQL), no jobs: what the waiting costs the API.
try {
  const agent = new http.Agent({ keepAlive: true, maxSockets: POLLERS + 10 });
  const u = new URL(a.url);
  const tokens = [];
  for (let i = 0; i < POLLERS; i++) {
    const m = await createMachineToken(a.url, a.adminKey, `idle-${i}`);
    const body = JSON.stringify({
      v: 1,
      name: `idle-${i}`,
      agent_version: 'bench',
      capacity: { total_slots: 1, free_slots: 1, cpu_cores: 4, memory_mb: 4096 },
      idf_versions: ['bench-1.0'],
      targets: ['esp32c3'],
    });
    const r = await fetch(`${a.url}/agents/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${m.token}`, 'content-type': 'application/json' },
      body,
    });
    if (!r.ok) throw new Error(`register: ${r.status}`);
    tokens.push(m.token);
  }
  const idle = await cpuOver(a.url, 5000);
  let stop = false;
  const pollOnce = (token) =>
    new Promise((resolve) => {
      const rq = http.get(
        {
          host: u.hostname,
          port: u.port,
          path: '/agents/jobs?wait=25&free=1',
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
    while (!stop) await pollOnce(t);
  });
  await new Promise((r) => setTimeout(r, 3000));
  const open = Number(/aegis_long_polls_open (\d+)/.exec(await (await fetch(`${a.url}/metrics`)).text())?.[1] ?? 0);
  const busy = await cpuOver(a.url, 10_000);
  stop = true;
  void loops;
  agent.destroy();
  console.log(
    `  ${open} of ${POLLERS} idle machines long-polling one API instance: ${busy.toFixed(1)}% of a core (${idle.toFixed(1)}% with none)`,
  );
} finally {
  await Promise.all(apis.map((x) => x.stop().catch(() => undefined)));
  await dropSchema(PG_SOCKET_URL, schema).catch(() => undefined);
}
process.exit(failed ? 1 : 0);
