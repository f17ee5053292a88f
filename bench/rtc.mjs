#!/usr/bin/env node
// Firmware-channel throughput machine → client: werift → werift (two processes) and werift → headless Chromium,
// against a plain HTTP download of the same bytes from the same machine process; and the time from the grant
// request to all channels open. Run inside a private network namespace (bench/run.mjs does: unshare -n, lo only).
// Imports built dist. Env: BENCH_RUNS (3), BENCH_KBPS (grant bandwidth, default 2 Gbit/s so the limiter is not
// what is measured), BENCH_CHROMIUM=0 to skip the browser, CHROMIUM_PATH.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create as tarCreate } from 'tar';
import { loopbackRtcConfig, startRemoteSession } from '../libs/peer/dist/index.js';
import { createMachineToken, createUser, startApi } from '../libs/testkit/dist/api.js';
import { startMachine } from '../libs/testkit/dist/machine.js';
import { CHROMIUM_PATH, launchChromium } from '../libs/testkit/dist/chromium.js';
import { PAGE } from './rtc-browser-page.mjs';

const MiB = 1024 * 1024;
const SIZES = [2 * MiB, 16 * MiB];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const withChromium = process.env.BENCH_CHROMIUM !== '0' && existsSync(CHROMIUM_PATH);

function projectTar(firmwareBytes) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proj-'));
  writeFileSync(join(dir, 'bench.json'), JSON.stringify({ firmwareBytes }));
  const file = join(dir, 'p.tar');
  tarCreate({ cwd: dir, file, sync: true, portable: true }, ['bench.json']);
  const buf = readFileSync(file);
  rmSync(dir, { recursive: true, force: true });
  return buf;
}

// The page for the Chromium client; its origin is on the API's CORS list.
const pageServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;

const api = await startApi({
  env: {
    GRANT_RATE_PER_MIN: '1000',
    ALLOWED_ORIGINS: pageOrigin,
    GRANT_MAX_BANDWIDTH_KBPS: String(process.env.BENCH_KBPS ?? 2_000_000),
  },
});
const userKey = await createUser(api.url, api.adminKey);
const { token } = await createMachineToken(api.url, api.adminKey, 'bench');
const machine = await startMachine({
  apiUrl: api.url,
  token,
  jwksPath: api.jwksPath,
  entry: fileURLToPath(new URL('./rtc-machine.mjs', import.meta.url)),
  env: { LOG_LEVEL: 'info' },
});
const httpPort = machine.output
  .map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      return {};
    }
  })
  .find((l) => l.msg === 'bench http')?.port;

async function weriftSession(size) {
  const s = await startRemoteSession({ baseUrl: api.url, apiKey: userKey, rtcConfig: loopbackRtcConfig });
  await s.espctl.uploadProject(projectTar(size));
  await s.espctl.call('build.start', {});
  await s.espctl.waitForBuild();
  return s;
}

const rows = [];
const openTimes = [];
const browserRows = [];
const browserOpen = [];
try {
  // One transfer to warm up the JIT in both processes; not counted.
  const warm = await weriftSession(MiB);
  await warm.firmware.fetch('app.bin');
  await warm.close();
  for (const size of SIZES) {
    const rtc = [];
    const http = [];
    for (let run = 0; run < RUNS; run++) {
      const s = await weriftSession(size);
      openTimes.push(s.timings.grantToOpenMs);
      const t0 = performance.now();
      const fw = await s.firmware.fetch('app.bin');
      rtc.push(performance.now() - t0);
      if (fw.size !== size) throw new Error('size mismatch');
      const t1 = performance.now();
      const res = await fetch(`http://127.0.0.1:${httpPort}/jobs/${s.jobId}/app.bin`);
      const body = Buffer.from(await res.arrayBuffer());
      http.push(performance.now() - t1);
      if (body.length !== size) throw new Error(`HTTP baseline got ${body.length} bytes`);
      await s.close();
    }
    const rtcMiBs = size / MiB / (median(rtc) / 1000);
    const httpMiBs = size / MiB / (median(http) / 1000);
    rows.push({ size: `${size / MiB} MiB`, rtcMiBs, httpMiBs });
  }

  if (withChromium) {
    const browser = await launchChromium();
    const ctx = browser.ctx;
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(pageOrigin + '/');
      for (const size of SIZES) {
        const tar = projectTar(size);
        const arg = {
          apiUrl: api.url,
          key: userKey,
          tarB64: tar.toString('base64'),
          tarSha256: createHash('sha256').update(tar).digest('hex'),
        };
        const times = [];
        for (let run = 0; run <= RUNS; run++) {
          const r = await page.evaluate((a) => window.benchRun(a), arg);
          if (!r.ok || r.size !== size) throw new Error('Chromium received a corrupt file');
          if (run === 0) continue; // warm-up
          times.push(r.ms);
          browserOpen.push(r.openMs);
        }
        browserRows.push({ size: `${size / MiB} MiB`, MiBs: size / MiB / (median(times) / 1000) });
      }
    } finally {
      await browser.close();
    }
  }

  const line = (size, mibs, http, extra = '') =>
    `  ${size.padEnd(7)} WebRTC ${mibs.toFixed(1).padStart(6)} MiB/s   HTTP ${http.toFixed(1).padStart(7)} MiB/s   WebRTC/HTTP ${(mibs / http).toFixed(3)}${extra}`;
  console.log(
    `firmware channel, werift → werift (two processes), median of ${RUNS} runs after a warm-up; sha256 verified`,
  );
  for (const r of rows) console.log(line(r.size, r.rtcMiBs, r.httpMiBs));
  if (withChromium) {
    console.log(
      `firmware channel, werift → headless Chromium, median of ${RUNS} runs after a warm-up; sha256 verified in the page`,
    );
    for (const r of browserRows)
      console.log(
        line(
          r.size,
          r.MiBs,
          rows.find((x) => x.size === r.size).httpMiBs,
          r.size === '16 MiB' ? '   (aim ≥ 8 MiB/s)' : '',
        ),
      );
  } else console.log('werift → Chromium not measured (no Chromium, or BENCH_CHROMIUM=0)');
  const o = [...openTimes].sort((a, b) => a - b);
  console.log(
    `grant request → channels open, werift client: median ${median(o).toFixed(0)} ms, min ${o[0].toFixed(0)}, max ${o[o.length - 1].toFixed(0)} (n=${o.length}; aim ≤ 500 ms)`,
  );
  if (browserOpen.length)
    console.log(
      `grant request → channels open, Chromium client: median ${median(browserOpen).toFixed(0)} ms (n=${browserOpen.length})`,
    );
} finally {
  await machine.stop();
  await api.stop();
  pageServer.close();
}
