#!/usr/bin/env node
// hello_world (esp32c3) through Aegis — grant → WebRTC → upload → build in the bwrap sandbox → signed flash bundle
// received and verified in a werift client — against `idf.py build` run directly with the same ESP-IDF kit outside
// the sandbox, in the same run: a clean build, an unchanged rebuild and a one-line-change rebuild. Prints the
// ratios, and where the Aegis time goes (client marks + the machine's log timestamps, one host, one clock).
//
//   node bench/build.mjs          (or `npm run bench -- build`)
// Runs itself inside a private network namespace (unshare -n, lo only) when started outside one, after building
// the dists (`tsc -b tsconfig.build.json`). Env: BENCH_RUNS (3: unchanged and one-line runs, median),
// BENCH_CLEAN_RUNS (1), BENCH_TARGET (esp32c3), BENCH_KEEP=1 (keep every build log), ESPCTL_STORE_ROOT (default: scripts/idf-store.mjs provisions
// .aegis-store from the kit). Writes bench/results/build.json.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecInNetns } from './netns.mjs';

const self = fileURLToPath(import.meta.url);

// Zero packets out: everything (API, machine, client, raw builds) runs in a namespace that has only loopback.
// Outside one, build the dists (bench/run.mjs already did when it started us) and re-run this file inside one.
reexecInNetns(self);

const { create: tarCreate } = await import('tar');
const { loopbackRtcConfig, startRemoteSession } = await import('../libs/peer/dist/index.js');
const { checkBundle } = await import('../libs/flasher/dist/index.js');
const { createMachineToken, createUser, startApi } = await import('../libs/testkit/dist/api.js');
const { startMachine } = await import('../libs/testkit/dist/machine.js');
const { ensureIdfStore } = await import('../scripts/idf-store.mjs');

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLEAN_RUNS = Number(process.env.BENCH_CLEAN_RUNS ?? 1);
const TARGET = process.env.BENCH_TARGET ?? 'esp32c3';
const CORES = availableParallelism();
const AIM_CLEAN = 1.1;
const AIM_ONE_LINE = 1.5;

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const secs = (ms) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// ---- the store, the project and its edits ------------------------------------------------------------------

const storeRoot = resolve(process.env.ESPCTL_STORE_ROOT ?? ensureIdfStore(undefined, { quiet: true }));
const storeManifest = JSON.parse(readFileSync(join(storeRoot, 'manifest.json'), 'utf8'));
const idf = storeManifest.versions.find((v) => v.default) ?? storeManifest.versions[0];
if (!idf || idf.test_toolchain) throw new Error(`${storeRoot} holds no real ESP-IDF; unset ESPCTL_STORE_ROOT.`);
const exportScript = join(storeRoot, idf.export_script ?? join(idf.path, 'export.sh'));
const example = join(storeRoot, idf.path, 'examples/get-started/hello_world');
const MAIN_C = 'main/hello_world_main.c';
const original = readFileSync(join(example, MAIN_C), 'utf8');
const HELLO = 'printf("Hello world!\\n");';
if (!original.includes(HELLO)) throw new Error(`${MAIN_C} of the IDF example no longer has ${HELLO}`);
/** The example's main file with one line changed (edit 0 = unchanged). */
const mainC = (edit) => (edit ? original.replace(HELLO, `printf("Hello world! (bench edit ${edit})\\n");`) : original);

const scratch = mkdtempSync(join(tmpdir(), 'aegis-bench-build-'));
// The machine's compiler caches live here (a fresh one per run): its build uids must reach it.
chmodSync(scratch, 0o755);

/** The project as a user uploads it: the example directory, with `main/hello_world_main.c` at edit `edit`. */
async function projectTar(edit) {
  const dir = join(scratch, `tar-src-${edit}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(example, dir, { recursive: true });
  await writeFile(join(dir, MAIN_C), mainC(edit));
  const file = join(scratch, `project-${edit}.tar`);
  const entries = ['CMakeLists.txt', 'main', 'README.md', 'pytest_hello_world.py', 'sdkconfig.ci'].filter((e) =>
    existsSync(join(dir, e)),
  );
  tarCreate({ cwd: dir, file, sync: true, portable: true }, entries);
  const buf = readFileSync(file);
  rmSync(dir, { recursive: true, force: true });
  return buf;
}

// ---- raw idf.py, outside the sandbox --------------------------------------------------------------------------

/** The sandbox's build environment (apps/machine idfEnv), minus the sandbox: same PATH, fresh HOME, no colours. */
function rawEnv() {
  const home = mkdtempSync(join(scratch, 'home-'));
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TMPDIR: tmpdir(),
    IDF_PY_NO_HINTS: '1',
    NO_COLOR: '1',
    // The store is read-only in the sandbox; don't let the raw side write byte code into it either.
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

/** Phase marks: the first log line (the machine's own, or idf.py's) that matches; on both sides. */
const MARKS = {
  building: (t) => t.startsWith('Building '),
  restored: (t) => t.startsWith('Restored the incremental build state'),
  setTarget: (t) => t.startsWith('Setting target') || t.startsWith('Target changes'),
  ninja: (t) => t.startsWith('Executing action: all'),
  complete: (t) => t.startsWith('Project build complete'),
  bundle: (t) => t.startsWith('Flash bundle ready'),
  succeeded: (t) => t.startsWith('Build succeeded'),
};

/** Counts ninja's `[n/m]` steps and spots "no work to do", for the report. */
function ninjaWork(lines) {
  return {
    steps: lines.filter((l) => /^\[\d+\/\d+\]/.test(l)).length,
    noWork: lines.filter((l) => l.includes('ninja: no work to do')).length,
  };
}

/** `. export.sh && idf.py -C dir <args>` directly on the host; resolves with wall time and the output. */
function rawIdf(dir, args, logName) {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(join(scratch, `${logName}.log`));
    const lines = [];
    const at = [];
    let rest = '';
    const t0 = performance.now();
    const child = spawn(
      '/bin/bash',
      ['-c', '. "$0" >/dev/null 2>&1 && exec idf.py "$@"', exportScript, '-C', dir, ...args],
      { env: rawEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const onData = (d) => {
      log.write(d);
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop();
      lines.push(...parts);
      for (const _ of parts) at.push(performance.now() - t0);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      log.end();
      if (rest) lines.push(rest);
      if (code !== 0)
        reject(new Error(`raw idf.py ${args.join(' ')} failed (exit ${code}):\n${lines.slice(-30).join('\n')}`));
      else {
        const when = (test) => at[lines.findIndex(test)];
        const ninja = when(MARKS.ninja);
        const first = when((t) => t.startsWith('Executing action:'));
        resolvePromise({
          ms,
          ...ninjaWork(lines),
          // The same phases as the Aegis breakdown: idf.py start-up (export.sh + python) to its first action,
          // set-target (clean only), then the build action to "Project build complete".
          phases: {
            startup: first,
            set_target: ninja !== undefined && first !== ninja ? ninja - first : undefined,
            idf_build: ninja !== undefined ? when(MARKS.complete) - ninja : undefined,
          },
        });
      }
    });
  });
}

const rawApp = async (dir) => sha256(await readFile(join(dir, 'build', 'hello_world.bin')));

async function rawCleanBuild(i) {
  const dir = join(scratch, `raw-${i}`);
  cpSync(example, dir, { recursive: true });
  await writeFile(join(dir, MAIN_C), mainC(0));
  const r = await rawIdf(dir, ['set-target', TARGET, 'build'], `raw-clean-${i}`);
  return { dir, ...r, app: await rawApp(dir) };
}

async function rawRebuild(dir, edit, logName) {
  if (edit) await writeFile(join(dir, MAIN_C), mainC(edit));
  const r = await rawIdf(dir, ['build'], logName);
  return { ...r, app: await rawApp(dir) };
}

// ---- Aegis: API + machine (bwrap) + a werift client -----------------------------------------------------------

console.log(`store ${storeRoot} (ESP-IDF ${idf.version}); ${CORES} cores; load average ${load()}`);
// Every build reads the same store files; read them once so neither side pays for a cold page cache.
spawnSync('sh', ['-c', 'find "$1" -type f -exec cat {} + >/dev/null', 'sh', storeRoot], { stdio: 'ignore' });

const api = await startApi({ env: { GRANT_RATE_PER_MIN: '1000' }, timeoutMs: 120_000 });
const { token } = await createMachineToken(api.url, api.adminKey, 'bench-build');
const machine = await startMachine({
  apiUrl: api.url,
  token,
  jwksPath: api.jwksPath,
  storeRoot,
  sandbox: 'bwrap',
  // The product's default: a compiler cache per user, empty at the start of the run (so "clean" is a user's first
  // build ever; "clean, warm compiler cache" is a clean build of a project after the user's first).
  env: { LOG_LEVEL: 'info', AEGIS_CCACHE: 'user', AEGIS_CCACHE_DIR: join(scratch, 'ccache') },
  timeoutMs: 120_000,
});

/** Opens a session, retrying while the machine still releases the previous one (counted in the connect time). */
async function openSession(userKey, onEvent) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startRemoteSession({
        baseUrl: api.url,
        apiKey: userKey,
        rtcConfig: loopbackRtcConfig,
        timeoutMs: 60_000,
        // What a user asks for: the whole machine (as the raw build gets) and room for a slow clean build.
        request: { target: TARGET, cpu_cores: CORES, memory_mb: 4096, timeout_secs: 1800 },
        onEvent,
      });
    } catch (err) {
      if (err?.code !== 'no_machine' || attempt >= 20) throw err;
      await sleep(250);
    }
  }
}

/** One build through Aegis, from the grant request to a verified flash bundle in this process. */
async function aegisBuild(userKey, tar, logName, { clean = false } = {}) {
  const wall = { t0: Date.now() };
  const p0 = performance.now();
  let jwk;
  const s = await openSession(userKey, (e) => {
    if (e.type === 'assigned') jwk = e.bundle_public_jwk;
  });
  try {
    wall.open = Date.now();
    const lines = [];
    s.espctl.on('log', (l) => lines.push(l));
    await s.espctl.uploadProject(tar);
    wall.uploaded = Date.now();
    await s.espctl.call('build.start', { target: TARGET, ...(clean ? { clean: true } : {}) });
    const done = await s.espctl.waitForBuild();
    wall.built = Date.now();
    if (done.state !== 'succeeded') {
      const tail = lines.slice(-30).map((l) => l.text);
      throw new Error(`Aegis build ${done.state}: ${done.error?.message ?? ''}\n${tail.join('\n')}`);
    }
    // The client's side of "verified flash bundle": manifest, signature and every part over the firmware channel,
    // then signature (the machine's key from the `assigned` event) and every part's sha256 checked.
    const { artifacts } = await s.espctl.call('artifacts.list', {});
    const byKind = (k) => artifacts.find((a) => a.kind === k);
    const mArt = byKind('bundle-manifest');
    const sArt = byKind('bundle-signature');
    if (!mArt || !sArt || !jwk) throw new Error('the build has no signed flash bundle (or the machine no key)');
    const prefix = mArt.name.slice(0, mArt.name.length - 'manifest.json'.length);
    const manifestBytes = new Uint8Array((await s.firmware.fetch(mArt.name)).data);
    const jws = new TextDecoder().decode((await s.firmware.fetch(sArt.name)).data).trim();
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
    const files = new Map();
    let bytes = manifestBytes.length;
    for (const part of manifest.parts) {
      const data = new Uint8Array((await s.firmware.fetch(prefix + part.file)).data);
      files.set(part.file, data);
      bytes += data.length;
    }
    const checked = await checkBundle({ manifestBytes, jws, files }, { publicJwk: jwk });
    wall.verified = Date.now();
    const totalMs = performance.now() - p0;
    const app = checked.manifest.parts.find((p) => p.name === 'app') ?? checked.manifest.parts.at(-1);

    // Log lines can trail the status notification by a frame; wait until every line before it is here.
    for (let i = 0; i < 50 && lines.length < done.next_seq; i++) await sleep(20);
    const mark = {};
    for (const [k, test] of Object.entries(MARKS)) mark[k] = lines.find((l) => test(l.text))?.ts;
    const texts = lines.map((l) => l.text);
    await writeFile(join(scratch, `${logName}.log`), lines.map((l) => `${l.ts} ${l.stream} ${l.text}`).join('\n'));
    const firstAction = lines.find((l) => l.text.startsWith('Executing action:'))?.ts;
    // idf.py's first invocation starts after the cache restore (warm) or with `set-target` (clean).
    const idfStart = mark.setTarget ?? mark.restored ?? mark.building;
    const seg = (a, b) => (a !== undefined && b !== undefined ? b - a : undefined);
    return {
      totalMs,
      app: app.sha256,
      bundleBytes: bytes,
      ...ninjaWork(texts),
      restoredCache: mark.restored !== undefined,
      segments: {
        connect: seg(wall.t0, wall.open),
        upload: seg(wall.open, wall.uploaded),
        job_start: seg(wall.uploaded, mark.building),
        cache_restore: seg(mark.building, mark.restored),
        idf_startup: seg(idfStart, firstAction),
        set_target: mark.setTarget !== undefined ? seg(firstAction, mark.ninja) : undefined,
        idf_build: seg(mark.ninja ?? idfStart, mark.complete),
        post_build: seg(mark.complete, mark.bundle),
        to_client: seg(mark.bundle, wall.built),
        transfer_verify: seg(wall.built, wall.verified),
      },
      sandboxed_idf: seg(idfStart, mark.complete),
    };
  } finally {
    await s.close().catch(() => undefined);
  }
}

const SEGMENTS = [
  ['connect', 'grant → channels open'],
  ['upload', 'upload + unpack'],
  ['job_start', 'build.start → runner'],
  ['cache_restore', 'cache restore'],
  ['idf_startup', 'idf.py start-up (export.sh, python)'],
  ['set_target', 'idf.py set-target (+ 2nd start-up)'],
  ['idf_build', 'idf.py build'],
  ['post_build', 'size report + bundle (cache packs after)'],
  ['to_client', 'status → client'],
  ['transfer_verify', 'bundle transfer + verify'],
];

// ---- the run ----------------------------------------------------------------------------------------------------

const cases = { clean: [], clean_warm_ccache: [], unchanged: [], one_line: [] };
const loads = { start: loadavg() };
const warnings = [];
let failed = false;
try {
  const baseTar = await projectTar(0);

  // One short job first (a project whose CMake stops at once), so one-time costs of the first job on a fresh
  // machine (sandbox files, JIT) are not charged to the clean build.
  {
    const warmKey = await createUser(api.url, api.adminKey);
    const dir = join(scratch, 'warm');
    mkdirSync(dir);
    await writeFile(join(dir, 'CMakeLists.txt'), 'message(FATAL_ERROR "bench warm-up")\n');
    const file = join(scratch, 'warm.tar');
    tarCreate({ cwd: dir, file, sync: true, portable: true }, ['CMakeLists.txt']);
    const s = await openSession(warmKey);
    await s.espctl.uploadProject(readFileSync(file));
    await s.espctl.call('build.start', { target: TARGET });
    await s.espctl.waitForBuild();
    await s.close();
    await sleep(1000);
  }

  // 1. Clean: a fresh project dir on the raw side; a new user (so no cache entry) on the Aegis side.
  let rawDir;
  let userKey;
  for (let i = 0; i < CLEAN_RUNS; i++) {
    const key = await createUser(api.url, api.adminKey);
    const order = i % 2 === 0 ? ['raw', 'aegis'] : ['aegis', 'raw'];
    const row = { load: loadavg()[0] };
    for (const side of order) {
      if (side === 'raw') row.raw = await rawCleanBuild(i);
      else row.aegis = await aegisBuild(key, baseTar, `aegis-clean-${i}`);
      await sleep(1000);
    }
    if (row.aegis.restoredCache) warnings.push('the clean Aegis build restored a cache entry');
    console.log(`clean #${i + 1}: raw ${secs(row.raw.ms)}, Aegis ${secs(row.aegis.totalMs)} (load ${load()})`);
    cases.clean.push(row);
    rawDir = row.raw.dir;
    userKey = key;
  }
  // 1b. Clean again, same user: `clean` drops the build state, the user's compiler cache stays (raw: a fresh dir).
  for (let i = 0; i < CLEAN_RUNS; i++) {
    const row = { load: loadavg()[0] };
    row.raw = await rawCleanBuild(CLEAN_RUNS + i);
    await sleep(1000);
    row.aegis = await aegisBuild(userKey, baseTar, `aegis-clean-warm-${i}`, { clean: true });
    await sleep(1000);
    console.log(`clean, warm compiler cache #${i + 1}: raw ${secs(row.raw.ms)}, Aegis ${secs(row.aegis.totalMs)}`);
    cases.clean_warm_ccache.push(row);
  }
  let rawPrev = cases.clean.at(-1).raw.app;
  let aegisPrev = cases.clean.at(-1).aegis.app;

  // 2. Unchanged: the same project again (raw: idf.py build in the same dir).
  for (let i = 0; i < RUNS; i++) {
    const row = { load: loadavg()[0] };
    row.raw = await rawRebuild(rawDir, 0, `raw-unchanged-${i}`);
    await sleep(500);
    row.aegis = await aegisBuild(userKey, baseTar, `aegis-unchanged-${i}`);
    await sleep(500);
    if (row.raw.app !== rawPrev) warnings.push(`unchanged #${i + 1}: the raw image changed`);
    if (row.aegis.app !== aegisPrev) warnings.push(`unchanged #${i + 1}: the Aegis image changed`);
    if (!row.aegis.restoredCache) warnings.push(`unchanged #${i + 1}: Aegis did not restore its build cache`);
    console.log(
      `unchanged #${i + 1}: raw ${secs(row.raw.ms)} (${row.raw.steps} ninja steps), ` +
        `Aegis ${secs(row.aegis.totalMs)} (${row.aegis.steps} ninja steps) (load ${load()})`,
    );
    cases.unchanged.push(row);
  }

  // 3. One-line change: a different printf each run (raw: edit in place, idf.py build).
  for (let i = 0; i < RUNS; i++) {
    const edit = i + 1;
    const tar = await projectTar(edit);
    const row = { load: loadavg()[0] };
    row.raw = await rawRebuild(rawDir, edit, `raw-one-line-${i}`);
    await sleep(500);
    row.aegis = await aegisBuild(userKey, tar, `aegis-one-line-${i}`);
    await sleep(500);
    if (row.raw.app === rawPrev) warnings.push(`one-line #${edit}: the raw image did not change`);
    if (row.aegis.app === aegisPrev) warnings.push(`one-line #${edit}: the Aegis image did not change`);
    if (!row.aegis.restoredCache) warnings.push(`one-line #${edit}: Aegis did not restore its build cache`);
    rawPrev = row.raw.app;
    aegisPrev = row.aegis.app;
    console.log(
      `one-line #${edit}: raw ${secs(row.raw.ms)} (${row.raw.steps} ninja steps), ` +
        `Aegis ${secs(row.aegis.totalMs)} (${row.aegis.steps} ninja steps) (load ${load()})`,
    );
    cases.one_line.push(row);
  }
  loads.end = loadavg();

  // `idf.py size` (timed raw once, for comparison): Aegis runs esp_idf_size on the map instead, beside the bundle.
  const rawSize = await rawIdf(rawDir, ['size', '--format', 'json'], 'raw-size');
  // The machine's own step times (runner marks, seconds since the build started) and cache pack times.
  const machineSteps = machine.output.filter((l) =>
    /build steps \(s since start\)|build cache (saved|not saved) in/.test(l),
  );

  // ---- report -------------------------------------------------------------------------------------------------
  const summary = {};
  for (const [name, rows] of Object.entries(cases)) {
    const raw = median(rows.map((r) => r.raw.ms));
    const aegis = median(rows.map((r) => r.aegis.totalMs));
    const segments = {};
    for (const [k] of SEGMENTS) segments[k] = median(rows.map((r) => r.aegis.segments[k]));
    const rawPhases = {};
    for (const k of ['startup', 'set_target', 'idf_build']) rawPhases[k] = median(rows.map((r) => r.raw.phases[k]));
    summary[name] = {
      runs: rows.length,
      raw_ms: raw,
      aegis_ms: aegis,
      ratio: aegis / raw,
      sandboxed_idf_ms: median(rows.map((r) => r.aegis.sandboxed_idf)),
      raw_ninja_steps: median(rows.map((r) => r.raw.steps)),
      aegis_ninja_steps: median(rows.map((r) => r.aegis.steps)),
      segments,
      raw_phases: rawPhases,
    };
  }
  const aims = { clean: AIM_CLEAN, one_line: AIM_ONE_LINE };
  const label = {
    clean: `clean build (n=${summary.clean.runs}${summary.clean.runs === 1 ? ', single run' : ', median'})`,
    clean_warm_ccache: `clean, warm compiler cache (n=${summary.clean_warm_ccache.runs})`,
    unchanged: `unchanged rebuild (median of ${summary.unchanged.runs})`,
    one_line: `one-line change (median of ${summary.one_line.runs})`,
  };

  console.log(
    `\nhello_world for ${TARGET}, ESP-IDF ${idf.version}: Aegis = grant → WebRTC → upload → build in the bwrap ` +
      `sandbox → signed flash bundle received and verified by a werift client; raw = \`. export.sh && idf.py\` ` +
      `directly on the host, same kit, same run. Load average ${loads.start.map((x) => x.toFixed(1)).join(' ')} → ` +
      `${loads.end.map((x) => x.toFixed(1)).join(' ')} (${CORES} cores, shared machine).`,
  );
  const header = `  ${'case'.padEnd(34)} ${'raw idf.py'.padStart(10)} ${'Aegis'.padStart(10)} ${'ratio'.padStart(7)}   aim`;
  console.log(header);
  for (const name of Object.keys(cases)) {
    const s = summary[name];
    const aim = aims[name];
    const verdict =
      aim === undefined
        ? '—'
        : s.ratio <= aim
          ? `≤ ${aim.toFixed(2)}× met`
          : `≤ ${aim.toFixed(2)}× MISSED by ${(s.ratio - aim).toFixed(2)}× (${secs(s.aegis_ms - aim * s.raw_ms)} over)`;
    console.log(
      `  ${label[name].padEnd(34)} ${secs(s.raw_ms).padStart(10)} ${secs(s.aegis_ms).padStart(10)} ` +
        `${(s.ratio.toFixed(2) + '×').padStart(7)}   ${verdict}`,
    );
  }
  console.log(
    `\nwhere the Aegis time goes (median per step, seconds; medians of steps need not add up to the median total):`,
  );
  const cols = Object.keys(cases);
  console.log(`  ${'step'.padEnd(36)}${cols.map((c) => c.padStart(12)).join('')}`);
  for (const [k, what] of SEGMENTS) {
    console.log(
      `  ${what.padEnd(36)}${cols
        .map((c) => (summary[c].segments[k] === undefined ? '—' : (summary[c].segments[k] / 1000).toFixed(2)))
        .map((x) => x.padStart(12))
        .join('')}`,
    );
  }
  const row = (what, f) => console.log(`  ${what.padEnd(36)}${cols.map((c) => f(summary[c]).padStart(12)).join('')}`);
  row('= Aegis total', (s) => (s.aegis_ms / 1000).toFixed(2));
  row('sandboxed idf.py (all invocations)', (s) => (s.sandboxed_idf_ms / 1000).toFixed(2));
  row('raw idf.py', (s) => (s.raw_ms / 1000).toFixed(2));
  const sec = (ms) => (ms === undefined ? '—' : (ms / 1000).toFixed(2));
  row('  raw: start-up to first action', (s) => sec(s.raw_phases.startup));
  row('  raw: set-target', (s) => sec(s.raw_phases.set_target));
  row('  raw: build action', (s) => sec(s.raw_phases.idf_build));
  row('ninja steps raw / Aegis', (s) => `${s.raw_ninja_steps}/${s.aegis_ninja_steps}`);
  console.log(
    `  (raw \`idf.py size --format json\` alone: ${secs(rawSize.ms)}; Aegis runs esp_idf_size on the map instead)`,
  );
  console.log(`machine step times of the last builds:\n  ${machineSteps.slice(-6).join('\n  ')}`);
  if (process.env.BENCH_STALE_DIST === '1') warnings.push('tsc -b failed before this run; the dists may lag the tree');
  for (const w of warnings) console.log(`WARNING: ${w}`);

  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  await writeFile(
    new URL('build.json', dir),
    JSON.stringify(
      {
        when: new Date().toISOString(),
        target: TARGET,
        idf_version: idf.version,
        cores: CORES,
        // tsc -b failed before this run (others' work in progress): the dists measured may lag the tree.
        stale_dist: process.env.BENCH_STALE_DIST === '1',
        loadavg: loads,
        aims: { clean_ratio: AIM_CLEAN, one_line_ratio: AIM_ONE_LINE },
        summary,
        raw_size_ms: rawSize.ms,
        machine_steps: machineSteps,
        runs: cases,
        warnings,
      },
      null,
      2,
    ) + '\n',
  );
  console.log('results: bench/results/build.json');
} catch (err) {
  failed = true;
  console.error(`bench/build.mjs: ${err.stack ?? err}`);
  console.error(`machine log tail:\n${machine.output.slice(-20).join('\n')}`);
} finally {
  // A failed cleanup (e.g. a job workspace still busy) must not hide the figures or the error above.
  for (const stop of [() => machine.stop(), () => api.stop()])
    await stop().catch((e) => console.error(`bench/build.mjs: cleanup: ${e.message}`));
  if (!failed && process.env.BENCH_KEEP !== '1') rmSync(scratch, { recursive: true, force: true });
  else console.error(`build logs (raw-*.log, aegis-*.log) kept in ${scratch}`);
}
process.exit(failed ? 1 : 0);
