import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { realIdfStore } from '@aegis/testkit/idf-store';
import { CHIP_NAMES, CHIPS, type ChipName, type DeviceOptions } from '@aegis/device-sim';
import { startTcpServer, type RunningTcpServer } from '@aegis/device-sim/tcp-server';

/**
 * Espressif's reference esptool (4.8.1, from the ESP-IDF v5.1.6 kit's Python environment) against the
 * simulator's TCP server: every command a flashing tool uses, on every simulated chip, with and without the
 * flasher stub, many runs in a row on one server.
 */
const python = join(realIdfStore(), 'idf', '5.1.6', 'python_env', 'bin', 'python');

interface Run {
  code: number;
  out: string;
}

/** At most this many esptool runs at once (a 2-core CI machine). */
const MAX_PARALLEL = 6;
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(body: () => Promise<T>): Promise<T> {
  while (running >= MAX_PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await body();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const esptoolEnv = () => ({ ...process.env, PYTHONDONTWRITEBYTECODE: '1', ESPTOOL_CFGFILE: cfgFile });

/**
 * One Python process running esptool.main (the CLI's entry point) once per request: each run opens its own
 * connection, as a CLI run does, without paying the interpreter start and esptool import every time.
 */
class EsptoolDriver {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor() {
    this.proc = spawn(python, [join(import.meta.dirname, 'fixtures', 'esptool-driver.py')], { env: esptoolEnv() });
    this.proc.stderr.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  run(server: RunningTcpServer, args: string[]): Promise<Run> {
    return limited(async () => {
      this.proc.stdin.write(JSON.stringify(['--port', server.url, ...args]) + '\n');
      const next = await this.lines.next();
      if (next.done) throw new Error(`the esptool driver exited:\n${this.stderr}`);
      return JSON.parse(next.value) as Run;
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}

/** The esptool command line itself (`python -m esptool`). */
function esptoolCli(server: RunningTcpServer, args: string[]): Promise<Run> {
  return limited(
    () =>
      new Promise((resolve) => {
        execFile(
          python,
          ['-m', 'esptool', '--port', server.url, ...args],
          { timeout: 60_000, env: esptoolEnv() },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, out: `${stdout}${stderr}` });
          },
        );
      }),
  );
}

type Esptool = (server: RunningTcpServer, args: string[]) => Promise<Run>;

async function ok(esptool: Esptool, server: RunningTcpServer, args: string[]): Promise<string> {
  const r = await esptool(server, args);
  if (r.code !== 0) throw new Error(`esptool ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  return r.out;
}

/** Deterministic, poorly compressible bytes. */
function noise(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

let dir: string;
const files = [
  { offset: 0x10000, data: noise(24 * 1024 + 100, 1) },
  { offset: 0x20000, data: noise(9 * 1024, 2) },
  { offset: 0x31000, data: new Uint8Array(12 * 1024).fill(0x5a) },
];
const fileArgs = () => files.flatMap((f, i) => [`0x${f.offset.toString(16)}`, join(dir, `f${i}.bin`)]);

let cfgFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'device-sim-esptool-'));
  // esptool waits 100 ms for a SYNC reply; on a loaded machine a process misses that, retries, and then reads
  // the late replies as answers to later commands. Its own config file lets it wait longer.
  cfgFile = join(dir, 'esptool.cfg');
  writeFileSync(cfgFile, '[esptool]\nsync_timeout = 2\n');
  files.forEach((f, i) => writeFileSync(join(dir, `f${i}.bin`), f.data));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withServer<T>(options: DeviceOptions, body: (s: RunningTcpServer) => Promise<T>): Promise<T> {
  const server = await startTcpServer({ deviceOptions: options });
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

describe.concurrent('esptool 4.8.1 against the TCP server', () => {
  const cases = CHIP_NAMES.flatMap((chip) => [
    [chip, true],
    [chip, false],
  ]) as [ChipName, boolean][];

  it.each(cases)(
    '%s (stub %s): chip_id, flash_id, read_mac, write_flash -z/-u, verify_flash, read_flash, erase_region, erase_flash',
    async (chip, stub) => {
      const profile = CHIPS[chip];
      const common = ['--chip', chip, '--baud', '460800', ...(stub ? [] : ['--no-stub'])];
      const driver = new EsptoolDriver();
      const esptool: Esptool = (srv, args) => driver.run(srv, args);
      onTestFinished(() => driver.close());
      await withServer({ chip }, async (server) => {
        const dev = server.device;
        const id = await ok(esptool, server, [...common, 'chip_id']);
        expect(id).toContain(`Chip is ${profile.displayName}`);
        expect(id).toContain(stub ? 'Stub running...' : 'Hard resetting');

        const flashId = await ok(esptool, server, [...common, 'flash_id']);
        expect(flashId).toMatch(/Manufacturer: c8/);
        expect(flashId).toContain('Detected flash size: 4MB');

        expect(await ok(esptool, server, [...common, 'read_mac'])).toContain('MAC: 24:0a:c4:12:34:56');

        // Compressed, then plain: each writes all three files.
        const z = await ok(esptool, server, [...common, 'write_flash', '-z', ...fileArgs()]);
        expect(z.match(/Hash of data verified\./g)?.length).toBe(3);
        for (const f of files) expect(dev.flash.read(f.offset, f.data.length)).toEqual(f.data);
        dev.flash.eraseAll();
        const u = await ok(esptool, server, [...common, 'write_flash', '-u', ...fileArgs()]);
        expect(u.match(/Hash of data verified\./g)?.length).toBe(3);
        for (const f of files) expect(dev.flash.read(f.offset, f.data.length)).toEqual(f.data);

        expect(await ok(esptool, server, [...common, 'verify_flash', ...fileArgs()])).toContain('-- verify OK');
        if (chip === 'esp32c3') {
          // verify_flash notices a changed byte (ROM: hex MD5, stub: raw MD5).
          dev.flash.data[0x20010] ^= 0xff;
          const bad = await esptool(server, [...common, 'verify_flash', ...fileArgs()]);
          expect(bad.code).not.toBe(0);
          expect(bad.out).toContain('verify FAILED');
          dev.flash.data[0x20010] ^= 0xff;
        }

        // read_flash: the stub's READ_FLASH stream; the ROM's READ_FLASH_SLOW, 64 bytes a command.
        const readLen = stub ? files[0].data.length : 0x1800;
        const out = join(dir, `read-${chip}-${stub}.bin`);
        await ok(esptool, server, [...common, 'read_flash', '0x10000', `0x${readLen.toString(16)}`, out]);
        expect(new Uint8Array(readFileSync(out))).toEqual(files[0].data.subarray(0, readLen));

        if (stub) {
          await ok(esptool, server, [...common, 'erase_region', '0x20000', '0x1000']);
          expect(dev.flash.read(0x20000, 0x1000).every((b) => b === 0xff)).toBe(true);
          expect(dev.flash.read(0x21000, 0x10)).toEqual(files[1].data.subarray(0x1000, 0x1010));
          expect(await ok(esptool, server, [...common, 'erase_flash'])).toContain('Chip erase completed successfully');
          expect(dev.flash.data.every((b) => b === 0xff)).toBe(true);
        } else {
          // esptool itself refuses these without the stub (the ROM has no erase commands).
          for (const cmd of [['erase_region', '0x20000', '0x1000'], ['erase_flash']]) {
            const r = await esptool(server, [...common, ...cmd]);
            expect(r.code).not.toBe(0);
            expect(r.out).toMatch(/ROM does not support function erase_/);
          }
        }
      });
    },
    120_000,
  );

  it('three runs in a row on one server, whatever the previous run left running', async () => {
    const esptool = esptoolCli; // the command line itself, one process per run
    await withServer({ chip: 'esp32s3' }, async (server) => {
      const common = ['--chip', 'esp32s3'];
      // The first run leaves the stub running; the next connection still finds the ROM.
      await ok(esptool, server, [...common, '--after', 'no_reset_stub', 'write_flash', ...fileArgs()]);
      expect(server.device.mode).toBe('stub');
      await ok(esptool, server, [...common, '--after', 'no_reset', '--no-stub', 'verify_flash', ...fileArgs()]);
      expect(server.device.mode).toBe('rom');
      expect(await ok(esptool, server, [...common, 'read_mac'])).toContain('MAC: 24:0a:c4:12:34:56');
    });
  }, 120_000);

  it('without reset on connect esptool finds the stub still running (it answers SYNC as the real stub)', async () => {
    const esptool = esptoolCli; // the command line itself, one process per run
    const server = await startTcpServer({ deviceOptions: { chip: 'esp32c3' }, resetOnConnect: false });
    try {
      // --after no_reset leaves the stub with FLASH_END(reboot): a software reset, back into the ROM loader.
      await ok(esptool, server, ['--chip', 'esp32c3', '--after', 'no_reset', 'chip_id']);
      expect(server.device.mode).toBe('rom');
      await ok(esptool, server, ['--chip', 'esp32c3', '--after', 'no_reset_stub', 'chip_id']);
      expect(server.device.mode).toBe('stub');
      const again = await ok(esptool, server, [
        '--chip',
        'esp32c3',
        '--after',
        'no_reset',
        'write_flash',
        ...fileArgs(),
      ]);
      expect(again).toContain('Stub is already running. No upload is necessary.');
      for (const f of files) expect(server.device.flash.read(f.offset, f.data.length)).toEqual(f.data);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('Secure Download Mode: esptool sees it, flashes without the stub, and cannot read back', async () => {
    const esptool = esptoolCli; // the command line itself, one process per run
    await withServer({ chip: 'esp32c3', secureDownloadMode: true }, async (server) => {
      const common = ['--chip', 'esp32c3', '--baud', '460800'];
      const w = await ok(esptool, server, [...common, 'write_flash', '--flash_size', '4MB', ...fileArgs()]);
      expect(w).toContain('Chip is ESP32-C3 in Secure Download Mode');
      expect(w).toContain('Stub loader is not supported in Secure Download Mode');
      for (const f of files) expect(server.device.flash.read(f.offset, f.data.length)).toEqual(f.data);
      const r = await esptool(server, [...common, 'read_flash', '0', '0x100', join(dir, 'sdm.bin')]);
      expect(r.code).not.toBe(0);
      expect(server.device.commands).not.toContain('MEM_BEGIN');
    });
  }, 120_000);
});
