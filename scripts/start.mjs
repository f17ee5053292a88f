#!/usr/bin/env node
// `npm start`: install what is missing, build, and run the whole system on embedded defaults —
// control API on SQLite (.aegis/), one build machine with the local store, and the dashboard.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { inputsHash, record, upToDate } from './build-stamp.mjs';
import { ensureIdfStore, kitDir, sandboxReachable } from './idf-store.mjs';

const root = new URL('..', import.meta.url).pathname;
const dataDir = resolve(root, process.env.AEGIS_DATA_DIR ?? '.aegis');
const apiPort = Number(process.env.API_PORT ?? 8080);
const webPort = Number(process.env.WEB_PORT ?? 3000);
const apiUrl = `http://127.0.0.1:${apiPort}`;
const webUrl = `http://127.0.0.1:${webPort}`;
const children = [];
// How long one part may take to come up (the API, the machine's registration, the dashboard).
const startTimeoutMs = Number(process.env.AEGIS_START_TIMEOUT_SECS ?? 120) * 1000;

const say = (msg) => console.log(`[aegis] ${msg}`);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function step(title, cmd, args, opts = {}) {
  say(title);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(
      `[aegis] ${title} failed (exit ${r.status ?? r.signal}). Fix the error above and run npm start again.`,
    );
    process.exit(1);
  }
}

/** Thrown when a part cannot start: the message is the reason, shown to the operator as is. */
class StartError extends Error {}

/**
 * Starts one part. Resolves once `readyPattern` shows up in its output (at once without one); rejects with the part's
 * last lines of output when it exits first or is not ready within `timeoutMs`.
 */
function launch(name, cmd, args, env, readyPattern, timeoutMs = startTimeoutMs) {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const tail = [];
  const lastLines = () => (tail.length ? `; its last output:\n    ${tail.join('\n    ')}` : '');
  return new Promise((resolve, reject) => {
    let ready = !readyPattern;
    if (ready) resolve(child);
    const timer = ready
      ? undefined
      : setTimeout(() => {
          if (ready) return;
          ready = true; // settled: a later exit is a shutdown, not a start failure
          reject(new StartError(`${name} was not ready within ${timeoutMs / 1000} s${lastLines()}`));
        }, timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        // The API prints a new admin key itself; this script shows it only once every part is up.
        if (/admin API key/i.test(line)) return;
        tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
        if (tail.length > 12) tail.shift();
        if (!ready && readyPattern.test(line)) {
          ready = true;
          clearTimeout(timer);
          resolve(child);
        }
        if (process.env.AEGIS_VERBOSE || !line.startsWith('{')) process.stdout.write(`${name} | ${line}\n`);
        else if (/"level":(40|50|60)/.test(line)) process.stdout.write(`${name} | ${line}\n`);
      });
    }
    child.on('error', (err) => {
      if (!ready) reject(new StartError(`${name} could not be started: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new StartError(`${name} exited before it was ready (${code ?? signal})${lastLines()}`));
      } else if (!shuttingDown) {
        console.error(`[aegis] ${name} stopped (${code ?? signal})${lastLines()}\n[aegis] stopping everything.`);
        shutdown(1);
      }
    });
  });
}

let shuttingDown = false;
/** Stops every part and exits once all of them have: SIGTERM, then SIGKILL for any still running after 15 s. */
function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }, 15_000);
  void Promise.all(
    running.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined,
    ),
  ).then(() => {
    clearTimeout(killer);
    process.exit(code);
  });
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function api(path, key, init = {}) {
  const res = await fetch(`${apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${res.status} ${await res.text()}`);
  return res.json();
}

// 1. System packages (the sandbox, the ESP-IDF kit's needs), dependencies and build. A build whose inputs did not
// change since it last succeeded is skipped (stamps in node_modules/.cache/aegis-build).
step('checking system packages…', 'bash', [join(root, 'scripts/system-packages.sh')]);
if (!existsSync(join(root, 'node_modules/.bin/tsc')))
  step('installing dependencies (npm ci)…', 'npm', ['ci', '--no-audit', '--no-fund']);

function cachedStep(title, stampName, inputs, outputs, cmd, args, opts) {
  const stamp = join(root, 'node_modules/.cache/aegis-build', `${stampName}.sha256`);
  const hash = inputsHash(root, inputs);
  if (upToDate(stamp, hash, outputs)) return say(`${title} — up to date, skipped`);
  step(`${title}…`, cmd, args, opts);
  record(stamp, hash);
}
const libs = ['protocol', 'esp', 'device-sim', 'flasher', 'peer', 'testkit', 'espctl'];
const sharedInputs = ['package-lock.json', 'tsconfig.base.json', ...libs.map((l) => `libs/${l}`)];
cachedStep(
  'building packages (tsc -b)',
  'tsc-b',
  [...sharedInputs, 'tsconfig.build.json', 'apps/api', 'apps/machine'],
  [
    ...libs.map((l) => join(root, `libs/${l}/dist/index.js`)),
    join(root, 'apps/api/dist/main.js'),
    join(root, 'apps/machine/dist/main.js'),
  ],
  join(root, 'node_modules/.bin/tsc'),
  ['-b', 'tsconfig.build.json'],
);
const webBuilt = existsSync(join(root, 'apps/web/package.json')) && existsSync(join(root, 'apps/web/app'));
if (webBuilt)
  cachedStep(
    'building the dashboard (next build)',
    'next-build',
    [...sharedInputs, 'apps/web'],
    [join(root, 'apps/web/.next/BUILD_ID')],
    'npm',
    ['run', 'build', '-w', 'apps/web'],
    { env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } },
  );
// .aegis stays 0700 (tightened if it was opened) and holds the key-sealing secret in its own 0600 file, so the
// API's grant-signing keys are sealed in its database by default.
const { ensureSealingSecretFile } = await import(join(root, 'apps/api/dist/grants/sealing-secret.js'));
const sealingSecretFile = ensureSealingSecretFile(dataDir);

// 2. The store of IDF versions: the operator's (ESPCTL_STORE_ROOT), or real ESP-IDF provisioned once from the
// offline kit (AEGIS_IDF_KIT, default ../shared/esp-idf-kit) into .aegis-store and reused afterwards. It lives
// outside .aegis (0700) because the sandbox's unprivileged uids read it.
let storeRoot = process.env.ESPCTL_STORE_ROOT;
if (!storeRoot) {
  say(`preparing real ESP-IDF from the kit in ${kitDir()} (first start: about 20 s; then about 1 s)…`);
  try {
    storeRoot = ensureIdfStore(sandboxReachable(join(root, '.aegis-store'), '/var/lib/aegis/store'));
  } catch (e) {
    console.error(`[aegis] ${e.message}`);
    process.exit(1);
  }
}

// 3.-5. The parts. If one cannot start, everything stops and the reason is printed: nothing pretends to run.
let adminKey, adminKeyFile;
try {
  ({ adminKey, adminKeyFile } = await startParts());
} catch (e) {
  console.error(`[aegis] could not start: ${e instanceof Error ? e.message : String(e)}`);
  shutdown(1);
  await new Promise(() => {}); // shutdown exits once every part has stopped
}

async function startParts() {
  // 3. Control API.
  const apiEnv = {
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    AEGIS_DATA_DIR: dataDir,
    ALLOWED_ORIGINS: process.env.ALLOWED_ORIGINS ?? webUrl,
    PUBLIC_URL: process.env.PUBLIC_URL ?? apiUrl,
    // The operator's own secret (either setting) wins over the generated file.
    ...(process.env.AEGIS_KEY_ENCRYPTION_SECRET || process.env.AEGIS_KEY_ENCRYPTION_SECRET_FILE
      ? {}
      : { AEGIS_KEY_ENCRYPTION_SECRET_FILE: sealingSecretFile }),
  };
  await launch('api', process.execPath, [join(root, 'apps/api/dist/main.js')], apiEnv, /"msg":"listening"/);
  const adminKeyFile = join(dataDir, 'admin-key');
  const adminKey = readFileSync(adminKeyFile, 'utf8').trim();

  // 4. One build machine, with a token of its own kept next to the database. Ready once it has registered.
  const tokenFile = join(dataDir, 'machine-token');
  if (!existsSync(tokenFile)) {
    const { token } = await api('/machines', adminKey, { method: 'POST', body: JSON.stringify({ name: 'local' }) });
    writeFileSync(tokenFile, token, { mode: 0o600 });
  }
  chmodSync(tokenFile, 0o600);
  const sandbox = has('bwrap') ? 'bwrap' : 'none';
  if (sandbox === 'none')
    say('WARNING: bubblewrap is not installed, builds run WITHOUT a sandbox (apt-get install bubblewrap).');
  await launch(
    'machine',
    process.execPath,
    [join(root, 'apps/machine/dist/main.js'), `--sandbox=${sandbox}`],
    {
      CONTROL_BASE_URL: apiUrl,
      AEGIS_MACHINE_TOKEN: readFileSync(tokenFile, 'utf8').trim(),
      AEGIS_TRUSTED_JWKS: join(dataDir, 'jwks.json'),
      ESPCTL_STORE_ROOT: storeRoot,
      // Outside .aegis (0700): the sandbox's unprivileged uids must be able to reach job workspaces.
      AEGIS_MACHINE_WORK_DIR:
        process.env.AEGIS_MACHINE_WORK_DIR ?? sandboxReachable(join(root, '.aegis-machine'), '/var/lib/aegis/machine'),
      ESPCTL_ALLOW_INSECURE: '1',
    },
    /"msg":"registered with the control API"/,
  );

  // 5. Dashboard.
  if (webBuilt) {
    await launch(
      'web',
      process.execPath,
      [join(root, 'node_modules/next/dist/bin/next'), 'start', '-H', '127.0.0.1', '-p', String(webPort), 'apps/web'],
      { AEGIS_API_URL: apiUrl, AEGIS_DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: '1' },
      /Ready|started server|Local:/i,
    );
  }
  return { adminKey, adminKeyFile };
}

// The key is shown once, on the first start that succeeded; afterwards only where to find it.
const shownMarker = join(dataDir, 'admin-key.shown');
const showKey = !existsSync(shownMarker);
console.log(`
  Aegis is running.
    Dashboard   ${webBuilt ? webUrl : '(not built)'}
    API         ${apiUrl}   (OpenAPI: ${apiUrl}/api/docs)
    MCP         ${apiUrl}/mcp   (legacy SSE: ${apiUrl}/sse)
    Admin key   ${showKey ? `${adminKey}\n                (shown once; kept in ${adminKeyFile}, mode 0600)` : `in ${adminKeyFile} (mode 0600)`}
                Sign in to the dashboard with it.
    Store       ${storeRoot}
  Press Ctrl-C to stop.
`);
if (showKey) writeFileSync(shownMarker, new Date().toISOString());
