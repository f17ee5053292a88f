#!/usr/bin/env node
// The emulated board: time from `start` on the emulator channel (a werift client, over WebRTC on loopback) to the
// first `Hello world!` of hello_world built through Aegis, for esp32c3 and esp32, against the raw QEMU command
// (the kit's README line) run directly on the same merged image, padded the same way, in the same run. Median of
// BENCH_RUNS (5) each, the two sides alternating. Prints the ratios (aim ≤ 1.2×).
//
//   node bench/emulator.mjs          (or `npm run bench -- emulator`)
// Runs itself inside a private network namespace (unshare -n, lo only) when started outside one, after building
// the dists. Env: BENCH_RUNS (5), ESPCTL_STORE_ROOT (default: scripts/idf-store.mjs provisions the kit's store).
// Writes bench/results/emulator.json.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecInNetns } from './netns.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);

reexecInNetns(self);

const { create: tarCreate } = await import('tar');
const { loopbackRtcConfig, startRemoteSession } = await import('../libs/peer/dist/index.js');
const { renderProjectTemplate } = await import('../libs/esp/dist/index.js');
const { createMachineToken, createUser, startApi } = await import('../libs/testkit/dist/api.js');
const { startMachine } = await import('../libs/testkit/dist/machine.js');
const { ensureIdfStore } = await import('../scripts/idf-store.mjs');

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const AIM = 1.2;
const HELLO = 'Hello world!';
const CHIPS = [
  { chip: 'esp32c3', qemu: 'qemu-system-riscv32' },
  { chip: 'esp32', qemu: 'qemu-system-xtensa' },
];

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const ms = (x) => (x === undefined ? 'n/a' : `${x.toFixed(0)} ms`);
const sleep = (t) => new Promise((r) => setTimeout(r, t));

const storeRoot = resolve(process.env.ESPCTL_STORE_ROOT ?? ensureIdfStore(undefined, { quiet: true }));
const manifest = JSON.parse(readFileSync(join(storeRoot, 'manifest.json'), 'utf8'));
const idf = manifest.versions.find((v) => v.default) ?? manifest.versions[0];
const qemuDir = join(storeRoot, idf.export_script ? join(idf.export_script, '..') : join(idf.path, '..'), 'tools/qemu');
const scratch = mkdtempSync(join(tmpdir(), 'aegis-bench-emu-'));

/** The raw command: QEMU on the padded merged image, stdin a pipe; ms to the first `Hello world!`. */
function rawBoot(qemu, chip, flashFile) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(
      join(qemuDir, 'bin', qemu),
      ['-M', chip, '-L', join(qemuDir, 'share/qemu'), '-nographic', '-serial', 'stdio', '-monitor', 'none'].concat([
        '-drive',
        `file=${flashFile},if=mtd,format=raw`,
      ]),
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`raw ${chip}: no "${HELLO}" within 60 s`));
    }, 60_000);
    child.stdout.on('data', (b) => {
      text += b.toString('latin1');
      if (text.includes(HELLO)) {
        const t = performance.now() - t0;
        clearTimeout(timer);
        child.kill('SIGKILL');
        child.once('close', () => resolvePromise(t));
      }
    });
  });
}

/** Through Aegis: `start` → first `Hello world!` on the channel; then stop. */
async function aegisBoot(emu) {
  let text = '';
  let seen;
  const found = new Promise((r) => (seen = r));
  const off = emu.onOutput((b) => {
    text += Buffer.from(b).toString('latin1');
    if (text.includes(HELLO)) seen(performance.now());
  });
  const t0 = performance.now();
  await emu.start({ seconds: 120 });
  const t = (await Promise.race([found, sleep(60_000).then(() => undefined)])) - t0;
  off();
  await emu.stop();
  if (!Number.isFinite(t)) throw new Error(`aegis: no "${HELLO}" within 60 s`);
  return t;
}

const api = await startApi({ env: { GRANT_RATE_PER_MIN: '1000' }, timeoutMs: 120_000 });
const { token } = await createMachineToken(api.url, api.adminKey, 'bench-emulator');
// Kept between runs: the machine's build cache makes a rerun's two builds incremental.
const workDir = join(tmpdir(), 'aegis-bench-emulator-machine');
mkdirSync(workDir, { recursive: true });
const machine = await startMachine({
  apiUrl: api.url,
  token,
  jwksPath: api.jwksPath,
  storeRoot,
  sandbox: 'bwrap',
  workDir,
});
/** The machine's `emulator starting` log lines so far. */
const emulatorStarts = () => machine.output.filter((l) => l.includes('emulator starting'));
const results = { runs: RUNS, load_start: loadavg()[0], chips: {} };
let failed = false;
try {
  const key = await createUser(api.url, api.adminKey);
  for (const { chip, qemu } of CHIPS) {
    const dir = join(scratch, chip);
    const files = renderProjectTemplate('hello_world', { name: 'hello_world', target: chip });
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    const tarFile = join(scratch, `${chip}.tar`);
    tarCreate({ cwd: dir, file: tarFile, sync: true, portable: true }, Object.keys(files));
    const s = await startRemoteSession({
      baseUrl: api.url,
      apiKey: key,
      rtcConfig: loopbackRtcConfig,
      // A clean build on a loaded shared machine can pass the default 15-minute job limit.
      request: { required_channels: ['espctl', 'firmware', 'emulator'], timeout_secs: 3600 },
      timeoutMs: 120_000,
    });
    try {
      const log = [];
      s.espctl.on('log', (l) => log.push(l.text));
      await s.espctl.uploadProject(readFileSync(tarFile));
      await s.espctl.call('set_target', { target: chip });
      await s.espctl.call('build.start', {});
      const done = await s.espctl.waitForBuild();
      if (done.state !== 'succeeded')
        throw new Error(`${chip}: the build ${done.state}:\n${log.slice(-30).join('\n')}\n${JSON.stringify(done)}`);
      // The same image QEMU gets through Aegis: the merged image padded to the flash size it reports.
      const merged = new Uint8Array((await s.firmware.fetch('merged.bin')).data);
      const first = await s.emulator.start({ seconds: 60 });
      await s.emulator.stop();
      const flash = new Uint8Array(first.flash_bytes).fill(0xff);
      flash.set(merged);
      const flashFile = join(scratch, `${chip}-flash.bin`);
      // Warm-up of both sides (page cache, QEMU's binary), not counted.
      writeFileSync(flashFile, flash);
      await rawBoot(qemu, chip, flashFile);
      await aegisBoot(s.emulator);
      const startsBefore = emulatorStarts();
      const raw = [];
      const aegis = [];
      for (let i = 0; i < RUNS; i++) {
        for (const side of i % 2 ? ['aegis', 'raw'] : ['raw', 'aegis']) {
          if (side === 'raw') {
            writeFileSync(flashFile, flash); // a fresh flash each run, as Aegis makes one
            raw.push(await rawBoot(qemu, chip, flashFile));
          } else aegis.push(await aegisBoot(s.emulator));
          await sleep(300);
        }
      }
      const starts = emulatorStarts().slice(startsBefore.length);
      const r = {
        raw_ms: raw,
        aegis_ms: aegis,
        raw_median_ms: median(raw),
        aegis_median_ms: median(aegis),
        // Starts that found the channel's spare sandbox parked (the machine logs `warm`).
        warm_starts: `${starts.filter((l) => /"warm":true/.test(l)).length}/${starts.length}`,
      };
      r.ratio = r.aegis_median_ms / r.raw_median_ms;
      results.chips[chip] = r;
      console.log(
        `${chip}: start → "${HELLO}" median of ${RUNS}: Aegis ${ms(r.aegis_median_ms)}, raw QEMU ${ms(r.raw_median_ms)}, ` +
          `ratio ${r.ratio.toFixed(2)}× (aim ≤ ${AIM}×)${r.ratio <= AIM ? '' : '  ← above the aim'}; ` +
          `warm starts ${r.warm_starts}`,
      );
    } finally {
      await s.close();
    }
  }
  results.load_end = loadavg()[0];
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  await writeFile(join(root, 'bench/results/emulator.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(
    `load average ${results.load_start.toFixed(2)} → ${results.load_end.toFixed(2)}; results: bench/results/emulator.json`,
  );
} catch (err) {
  failed = true;
  console.error(`bench/emulator.mjs: ${err.stack ?? err}`);
  console.error(`machine log tail:\n${machine.output.slice(-20).join('\n')}`);
} finally {
  await machine.stop().catch(() => undefined);
  await api.stop().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
