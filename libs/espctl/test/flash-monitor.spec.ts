import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { buildDemoFirmware } from '@aegis/device-sim';
import { buildTestBundle } from '@aegis/testkit/flash-bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, espctlBin, newClient, textOf } from './mcp-helpers.js';
import { startPtySim, type PtySim } from './support/pty-sim.js';

let tmp: string;
let bundleDir: string;
let sim: PtySim;
let client: Client;
let parts: ReturnType<typeof buildDemoFirmware>;

const run = promisify(execFile);

/** A flash bundle directory as `firmware.download` writes it (unsigned: no machine key in plan-only mode). */
async function writeBundle(dir: string): Promise<void> {
  parts = buildDemoFirmware({ chip: 'esp32c3', projectName: 'pty_demo', appSize: 64 * 1024 });
  const bundle = await buildTestBundle(parts, { chip: 'esp32c3', project: 'pty_demo', idfVersion: 'test-1.0' });
  await mkdir(path.join(dir, 'files'), { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), bundle.manifestBytes);
  for (const [file, data] of bundle.files) await writeFile(path.join(dir, file), data);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-flash-'));
  bundleDir = path.join(tmp, 'bundle');
  await writeBundle(bundleDir);
  sim = startPtySim();
  client = newClient();
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [espctlBin, 'mcp', 'serve'],
      cwd: tmp,
      env: { PATH: process.env.PATH ?? '', HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'cfg') },
      stderr: 'ignore',
    }),
  );
});

afterAll(async () => {
  await client?.close();
  sim?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('flash.run / monitor.run on a pseudo-terminal with the simulated board', () => {
  it('flash.run writes the bundle through Node serialport + esptool-js and releases the port', async () => {
    const r = await call(client, 'flash.run', {
      firmware_path: bundleDir,
      port: sim.path,
      baud: 115200,
      timeout_sec: 120,
    });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      method: 'serial',
      status: 'done',
      chip: 'esp32c3',
      verified: true,
      signature: 'unchecked',
    });
    for (const p of parts)
      expect(Buffer.from(sim.device.flash.read(p.offset, p.data.length)).equals(Buffer.from(p.data)), p.name).toBe(
        true,
      );
    // The port was released: the same tool can open it again at once (a second flash writes nothing new).
    // A pty has no DTR/RTS, so put the board into download mode by hand (BOOT held while pressing RESET).
    sim.device.pressReset(true);
    const again = await call(client, 'flash.run', {
      firmware_path: bundleDir,
      port: sim.path,
      baud: 115200,
      timeout_sec: 120,
    });
    expect(again.isError, textOf(again)).toBeFalsy();
    expect((again.structuredContent as { bytes_written: number }).bytes_written).toBe(0);
  });

  it('monitor.run reads the boot log for a bounded time, filters lines, and caps bytes', async () => {
    let presses = setInterval(() => sim.device.pressReset(false), 300);
    const r = await call(client, 'monitor.run', { port: sim.path, baud: 115200, duration_sec: 2 });
    clearInterval(presses);
    expect(r.isError, textOf(r)).toBeFalsy();
    const out = r.structuredContent as { text: string; bytes: number; truncated: boolean };
    expect(out.text).toContain('ESP-ROM');
    expect(out.bytes).toBeGreaterThan(50);
    expect(out.truncated).toBe(false);

    presses = setInterval(() => sim.device.pressReset(false), 300);
    const f = await call(client, 'monitor.run', { port: sim.path, duration_sec: 2, filter: '^ESP-ROM' });
    clearInterval(presses);
    expect((f.structuredContent as { text: string }).text.split('\n').every((l) => l.startsWith('ESP-ROM'))).toBe(true);

    presses = setInterval(() => sim.device.pressReset(false), 300);
    const capped = await call(client, 'monitor.run', { port: sim.path, duration_sec: 5, max_bytes: 16 });
    clearInterval(presses);
    expect(capped.structuredContent).toMatchObject({ bytes: 16, truncated: true });
  });

  it('refuses a missing port, a damaged bundle and a bad filter with clear errors', async () => {
    let r = await call(client, 'flash.run', { firmware_path: bundleDir, port: '/dev/does-not-exist', timeout_sec: 10 });
    expect(textOf(r)).toMatch(/^serial_port_unavailable: \/dev\/does-not-exist cannot be opened/);
    await writeFile(path.join(bundleDir, 'files/app.bin'), new Uint8Array(10));
    sim.device.pressReset(true);
    r = await call(client, 'flash.run', { firmware_path: bundleDir, port: sim.path, timeout_sec: 10 });
    expect(textOf(r)).toMatch(/^flash_sha256_mismatch: /);
    r = await call(client, 'monitor.run', { port: sim.path, duration_sec: 0.5, filter: '(' });
    expect(textOf(r)).toMatch(/^invalid_input: filter/);
  });

  it('espctl monitor (CLI) uses the same port code', async () => {
    // Press RESET every 300 ms while the CLI starts and listens, so a boot log lands after the port opened.
    const presses = setInterval(() => sim.device.pressReset(false), 300);
    try {
      const { stdout } = await run(process.execPath, [espctlBin, '--json', 'monitor', '-p', sim.path, '-d', '4'], {
        timeout: 30_000,
      });
      expect(JSON.parse(stdout).text).toContain('ESP-ROM');
    } finally {
      clearInterval(presses);
    }
  });
});
