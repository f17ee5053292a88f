#!/usr/bin/env node
// `npm test`: type-check, lint, format check, then every test. WebRTC and browser suites (*.rtc.spec.ts)
// run in a private network namespace with loopback only, so nothing can leave the machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureIdfStore, testStoreDir } from './idf-store.mjs';

const root = new URL('..', import.meta.url).pathname;
const bin = (n) => join(root, 'node_modules/.bin', n);
const only = process.argv.slice(2); // optional vitest filters, e.g. `npm test -- libs/esp`
const fast = process.env.AEGIS_TEST_SKIP_CHECKS === '1';

function run(title, cmd, args, env = {}) {
  process.stdout.write(`\n▶ ${title}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`✖ ${title} failed (exit ${r.status ?? r.signal})`);
    return false;
  }
  return true;
}

if (!existsSync(join(root, 'node_modules/.bin/vitest'))) {
  if (!run('install dependencies', 'npm', ['ci', '--no-audit', '--no-fund'])) process.exit(1);
}

let ok = true;
if (!fast) {
  ok = run('build + type-check sources (tsc -b)', bin('tsc'), ['-b', 'tsconfig.build.json']) && ok;
  ok = run('type-check tests (tsc --noEmit)', bin('tsc'), ['-p', 'tsconfig.json']) && ok;
  if (existsSync(join(root, 'apps/web/tsconfig.json')))
    ok = run('type-check dashboard', bin('tsc'), ['-p', 'apps/web/tsconfig.json', '--noEmit']) && ok;
  ok = run('lint (eslint)', bin('eslint'), ['.']) && ok;
  ok = run('format (prettier --check)', bin('prettier'), ['--check', '.', '--log-level', 'warn']) && ok;
}

// Every build test runs real ESP-IDF: provision the store from the kit once, before any test starts. A missing kit
// is a failure with what to do, never a silent skip.
process.stdout.write('\n▶ ESP-IDF store from the kit (reused when up to date)\n');
try {
  process.env.AEGIS_TEST_STORE = ensureIdfStore(testStoreDir());
} catch (e) {
  console.error(`✖ ${e.message}`);
  process.exit(1);
}

const out = join(root, 'test-results');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const vitest = (file) => [
  bin('vitest'),
  'run',
  '--passWithNoTests',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${join(out, file)}`,
  ...only,
];

// The two runs are independent processes (the WebRTC suites cannot reach PostgreSQL, the host suites need it), so
// they run side by side: most of either is ESP-IDF builds or waiting, and 2 cores are better used together.
// The private-namespace run writes to a file that is printed once the host run has finished.
const netnsLog = join(out, 'netns.log');
const netnsScript = `ip link set lo up && exec "$@" >"$LOG" 2>&1`;
process.stdout.write('\n▶ tests (private network namespace: WebRTC and browser), in the background\n');
const netns = new Promise((resolve) => {
  const child = spawn('unshare', ['-n', 'sh', '-c', netnsScript, 'sh', process.execPath, ...vitest('netns.json')], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, AEGIS_NETNS: '1', LOG: netnsLog },
  });
  child.on('error', () => resolve(1));
  child.on('close', (code) => resolve(code ?? 1));
});

ok =
  run('tests (host network: unit, API on SQLite and PostgreSQL)', process.execPath, vitest('host.json'), {
    AEGIS_NETNS: '0',
  }) && ok;

const netnsCode = await netns;
process.stdout.write('\n▶ tests (private network namespace: WebRTC and browser)\n');
if (existsSync(netnsLog)) process.stdout.write(readFileSync(netnsLog, 'utf8'));
if (netnsCode !== 0) {
  console.error(`✖ tests (private network namespace: WebRTC and browser) failed (exit ${netnsCode})`);
  ok = false;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of ['host.json', 'netns.json']) {
  const p = join(out, f);
  if (!existsSync(p)) continue;
  const r = JSON.parse(readFileSync(p, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok && failed === 0 && passed > 0 ? 0 : 1);
