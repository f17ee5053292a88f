#!/usr/bin/env node
// Firmware-channel throughput machine → client (werift → werift, two processes) against a plain HTTP download of
// the same bytes from the same machine process; and the time from grant request to all channels open.
// Run inside a private network namespace (bench/run.mjs does: unshare -n, lo only). Imports built dist.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create as tarCreate } from 'tar';
import { loopbackRtcConfig, startRemoteSession } from '../libs/peer/dist/index.js';
import { createMachineToken, createUser, startApi } from '../libs/testkit/dist/api.js';
import { startMachine } from '../libs/testkit/dist/machine.js';

const MiB = 1024 * 1024;
const SIZES = [2 * MiB, 16 * MiB];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function projectTar(firmwareBytes) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proj-'));
  writeFileSync(join(dir, 'bench.json'), JSON.stringify({ firmwareBytes }));
  const file = join(dir, 'p.tar');
  tarCreate({ cwd: dir, file, sync: true, portable: true }, ['bench.json']);
  const buf = readFileSync(file);
  rmSync(dir, { recursive: true, force: true });
  return buf;
}

const api = await startApi({
  env: {
    LOG_LEVEL: 'warn',
    GRANT_RATE_PER_MIN: '1000',
    GRANT_MAX_BANDWIDTH_KBPS: String(process.env.BENCH_KBPS ?? 2_000_000),
  },
}).catch(async () =>
  startApi({
    env: { GRANT_RATE_PER_MIN: '1000', GRANT_MAX_BANDWIDTH_KBPS: String(process.env.BENCH_KBPS ?? 2_000_000) },
  }),
);
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

const openTimes = [];
const rows = [];
try {
  for (const size of SIZES) {
    const rtc = [];
    const http = [];
    for (let run = 0; run < RUNS; run++) {
      const s = await startRemoteSession({ baseUrl: api.url, apiKey: userKey, rtcConfig: loopbackRtcConfig });
      openTimes.push(s.timings.grantToOpenMs);
      await s.espctl.uploadProject(projectTar(size));
      await s.espctl.call('build.start', {});
      await s.espctl.waitForBuild();
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
    rows.push({ size: `${size / MiB} MiB`, rtcMiBs, httpMiBs, ratio: rtcMiBs / httpMiBs });
  }
  console.log(
    `firmware channel, werift → werift (two processes), median of ${RUNS} runs; sha256 verified by the client`,
  );
  for (const r of rows)
    console.log(
      `  ${r.size.padEnd(7)} WebRTC ${r.rtcMiBs.toFixed(1).padStart(6)} MiB/s   HTTP ${r.httpMiBs.toFixed(1).padStart(7)} MiB/s   WebRTC/HTTP ${r.ratio.toFixed(3)}`,
    );
  const sorted = [...openTimes].sort((a, b) => a - b);
  console.log(
    `grant request → 3 channels open: median ${median(sorted).toFixed(0)} ms, min ${sorted[0].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms (n=${sorted.length}; aim ≤ 500 ms)`,
  );
} finally {
  await machine.stop();
  await api.stop();
}
