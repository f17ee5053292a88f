#!/usr/bin/env node
// Flasher benchmark against the simulated ESP32 with the line-rate model on (every byte takes 10 bit-times):
// a 1 MiB app (real ESP32 code, tiled and perturbed) at 460800 and 921600 baud.
//  - full flash vs the wire ceiling (compressed bytes × 10 / baud): whole session and the write phase alone;
//  - sector-diff reflash after a small code change vs that full flash (whole sessions, and the compare+write
//    phase alone, i.e. without the fixed connect / stub upload / reset costs both sessions share).
//  - stock esptool-js 0.7.0 (`main()` + its own `writeFlash` loop, compression on, MD5 check per file) flashing the
//    same parts on the same simulated line in the same run: our full-flash session against it.
// The simulated flash writes instantly; real flash chips add erase/program time that this does not model.
// Needs built dists: `npx tsc -b libs/device-sim/tsconfig.build.json libs/flasher/tsconfig.build.json libs/testkit/tsconfig.build.json`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import pako from 'pako';
import { ESPLoader, Transport } from 'esptool-js';
import { md5 } from '@noble/hashes/legacy.js';
import { buildDemoFirmware, flashImageOf, SimDevice, SimSerialPort } from '../libs/device-sim/dist/index.js';
import { flash } from '../libs/flasher/dist/index.js';
import { concatBytes, readAppImage } from '../libs/esp/dist/index.js';
import { buildTestBundle, makeBundleSigner } from '../libs/testkit/dist/flash-bundle.js';

const BAUDS = (process.env.BENCH_BAUDS || '460800,921600').split(',').map(Number);
const CHIPS_RUN = (process.env.BENCH_CHIPS || 'esp32s3,esp32').split(',');
const APP_SIZE = 1024 * 1024;
// Each figure is the median of this many runs (the machine is shared; single runs vary by ±10 %).
const RUNS = Number(process.env.BENCH_RUNS || 3);
// Real ESP-IDF app images from the shared test data (beside the repository, as in CI).
const REAL_APP = {
  esp32: '136446529__ESP32-BMP180/build/ESP32-BMP180.bin',
  esp32s3: '203Null__esp32-microlight/build/main.bin',
};

function realCode(chip) {
  const path = new URL(`../../shared/testdata/real-esp/${REAL_APP[chip]}`, import.meta.url);
  if (!existsSync(path)) return undefined;
  return concatBytes(readAppImage(new Uint8Array(readFileSync(path))).segments.map((s) => s.data));
}

const bundleOf = (chip, parts, signer) =>
  buildTestBundle(parts, { chip, project: 'bench', flash: { mode: 'dio', freq: '40m', size: '4MB' }, signer });

async function run({ chip, baud, parts, initial, diff, k }) {
  const device = new SimDevice({ chip, lineRate: true, flashImage: initial });
  device.flash.resetStats();
  const port = new SimSerialPort(device);
  const bundle = await bundleOf(chip, parts, k);
  const t0 = performance.now();
  const result = await flash({ port, bundle, trust: { publicJwk: k.publicJwk }, baud, diff });
  const ms = performance.now() - t0;
  const app = parts.find((p) => p.name === 'app');
  const ok = device.flash.data.subarray(app.offset, app.offset + app.data.length).every((b, i) => b === app.data[i]);
  if (!ok || result.baud !== baud) throw new Error(`bench run failed: verified=${ok} baud=${result.baud}`);
  return {
    ms,
    writeMs: result.writeMs,
    sectors: device.flash.stats.writtenSectors.size,
    md5: result.md5Requests,
    result,
  };
}

class QuietTransport extends Transport {
  trace() {}
}
const md5hex = (d) => Array.from(md5(d), (x) => x.toString(16).padStart(2, '0')).join('');

/** Stock esptool-js: connect, stub, baud change, its writeFlash loop (compressed), hard reset — one session. */
async function esptoolJs({ chip, baud, parts }) {
  const device = new SimDevice({ chip, lineRate: true });
  const port = new SimSerialPort(device);
  const t0 = performance.now();
  const transport = new QuietTransport(port);
  const terminal = { clean() {}, writeLine() {}, write() {} };
  const loader = new ESPLoader({ transport, baudrate: baud, terminal });
  await loader.main('default_reset');
  await loader.writeFlash({
    fileArray: parts.map((p) => ({ data: p.data, address: p.offset })),
    flashMode: 'keep',
    flashFreq: 'keep',
    flashSize: 'keep',
    eraseAll: false,
    compress: true,
    calculateMD5Hash: md5hex,
  });
  await loader.after('hard_reset');
  await transport.disconnect();
  const ms = performance.now() - t0;
  const app = parts.find((p) => p.name === 'app');
  const ok = device.flash.data.subarray(app.offset, app.offset + app.data.length).every((b, i) => b === app.data[i]);
  if (!ok || device.baud !== baud) throw new Error(`esptool-js run failed: verified=${ok} baud=${device.baud}`);
  return { ms, writeMs: ms };
}

/** Run `n` times; median of session time and of write-phase time (taken separately). */
async function median(n, once) {
  const all = [];
  for (let i = 0; i < n; i++) all.push(await once());
  const mid = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { ...all[0], ms: mid(all.map((r) => r.ms)), writeMs: mid(all.map((r) => r.writeMs)) };
}

const k = await makeBundleSigner('bench');
const rows = [];
for (const chip of CHIPS_RUN) {
  const code = realCode(chip);
  const v1 = buildDemoFirmware({ chip, projectName: 'bench', appSize: APP_SIZE, codeSource: code, seed: 3 });
  // A small change: 200 bytes of one function rewritten (same size), as after editing one function.
  const v2 = buildDemoFirmware({
    chip,
    projectName: 'bench',
    appSize: APP_SIZE,
    codeSource: code,
    seed: 3,
    patch: { at: 400_000, length: 200, seed: 4 },
  });
  const rawBytes = v1.reduce((n, p) => n + p.data.length, 0);
  // esptool-js and this flasher send each part deflated at level 9; that is what crosses the wire.
  const compressed = v1.reduce((n, p) => n + pako.deflate(p.data, { level: 9 }).length, 0);
  console.log(
    `${chip}: code from ${code ? `the real ${REAL_APP[chip].split('/')[0]} image, tiled + perturbed` : 'a synthetic generator (shared testdata not found)'}; ` +
      `${(rawBytes / 1024).toFixed(0)} KiB in ${v1.length} parts → ${(compressed / 1024).toFixed(0)} KiB deflated (${((100 * compressed) / rawBytes).toFixed(0)} %)`,
  );
  for (const baud of BAUDS) {
    const ceilingMs = (compressed * 10 * 1000) / baud;
    const full = await median(RUNS, () => run({ chip, baud, parts: v1, diff: false, k }));
    const diff = await median(RUNS, () => run({ chip, baud, parts: v2, initial: flashImageOf(v1), diff: true, k }));
    const stock = await median(RUNS, () => esptoolJs({ chip, baud, parts: v1 }));
    const row = {
      chip,
      baud,
      ceiling_s: +(ceilingMs / 1000).toFixed(2),
      full_session_s: +(full.ms / 1000).toFixed(2),
      full_write_s: +(full.writeMs / 1000).toFixed(2),
      session_vs_ceiling: +(full.ms / ceilingMs).toFixed(3),
      esptool_js_session_s: +(stock.ms / 1000).toFixed(2),
      esptool_js_vs_ceiling: +(stock.ms / ceilingMs).toFixed(3),
      ours_vs_esptool_js: +(stock.ms / full.ms).toFixed(2),
      write_vs_ceiling: +(full.writeMs / ceilingMs).toFixed(3),
      diff_session_s: +(diff.ms / 1000).toFixed(2),
      diff_phase_s: +(diff.writeMs / 1000).toFixed(3),
      diff_sectors_written: diff.sectors,
      diff_md5_requests: diff.md5,
      speedup: +(full.ms / diff.ms).toFixed(1),
      phase_speedup: +(full.writeMs / diff.writeMs).toFixed(1),
    };
    rows.push(row);
    console.log(
      `  ${baud} baud: ceiling ${row.ceiling_s} s | full flash ${row.full_session_s} s whole session (×${row.session_vs_ceiling} of the ceiling), ` +
        `write phase ${row.full_write_s} s (×${row.write_vs_ceiling}) | sector-diff reflash ${row.diff_session_s} s ` +
        `(${row.diff_sectors_written} sectors written, ${row.diff_md5_requests} MD5 requests) → ${row.speedup}× faster; ` +
        `stock esptool-js writeFlash session ${row.esptool_js_session_s} s (×${row.esptool_js_vs_ceiling} of the ceiling; ours ${row.ours_vs_esptool_js}× faster); ` +
        `compare+write phase ${row.diff_phase_s} s vs ${row.full_write_s} s → ${row.phase_speedup}×`,
    );
  }
}
console.log(`(medians of ${RUNS} runs each)`);
console.table(rows);
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('flash.json', dir), JSON.stringify({ when: new Date().toISOString(), rows }, null, 2) + '\n');
