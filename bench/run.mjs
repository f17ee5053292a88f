#!/usr/bin/env node
// `npm run bench`: builds, then runs every benchmark under bench/. Each prints its own figures as ratios
// against a baseline measured in the same run. WebRTC benchmarks run in a private network namespace.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const benches = [
  { file: 'api.mjs', netns: false },
  { file: 'flash.mjs', netns: false },
  { file: 'rtc.mjs', netns: true },
  { file: 'web-rtc.mjs', netns: true },
  { file: 'build.mjs', netns: true },
  { file: 'queue.mjs', netns: true },
  { file: 'emulator.mjs', netns: true },
].filter(
  (b) => existsSync(join(root, 'bench', b.file)) && (only.length === 0 || only.some((o) => b.file.startsWith(o))),
);

const build = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-b', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(1);

let failed = 0;
for (const b of benches) {
  console.log(`\n=== bench/${b.file} ===`);
  const script = join(root, 'bench', b.file);
  const r = b.netns
    ? spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, script], {
        cwd: root,
        stdio: 'inherit',
      })
    : spawnSync(process.execPath, [script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${b.file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
