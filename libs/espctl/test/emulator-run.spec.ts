import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildStatus, DecodedFrame } from '@aegis/protocol';
import { runCli } from '../src/cli/program.js';
import { runEmulator } from '../src/emulator/emulator-run.js';
import type {
  EmulatorExitInfo,
  EmulatorPort,
  EmulatorReadyInfo,
  RemoteConnector,
  RemoteSession,
} from '../src/remote/remote-connector.js';

/**
 * The emulator run and `espctl run --emulator` against a scripted emulator channel that plays REAL serial output
 * (libs/esp/test/fixtures/serial: real ESP-IDF apps captured from the kit's QEMU). The whole path over WebRTC to a
 * real machine and QEMU is mcp-emulator.rtc.spec.ts.
 */
const FIX = path.resolve(import.meta.dirname, '../../esp/test/fixtures/serial');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(FIX, name)));

interface Script {
  bytes?: Uint8Array;
  chunk?: number;
  /** Sent after the bytes; absent = the emulator keeps running silently until stopped. */
  end?: EmulatorExitInfo;
  refuse?: { code: string; message: string };
}

/** An emulator channel that plays `bytes` in chunks (each on its own macrotask) once started. */
class ScriptedEmulator implements EmulatorPort {
  private readonly out = new Set<(b: Uint8Array) => void>();
  private readonly exits = new Set<(e: EmulatorExitInfo) => void>();
  private running = false;
  written: string[] = [];
  stops = 0;
  /** Resolves once every scripted byte was delivered. */
  played!: Promise<void>;

  constructor(private readonly s: Script) {}

  async start(opts?: { seconds?: number }): Promise<EmulatorReadyInfo> {
    if (this.s.refuse) throw Object.assign(new Error(this.s.refuse.message), { code: this.s.refuse.code });
    this.running = true;
    this.played = this.play();
    return { chip: 'esp32c3', flash_bytes: 4 << 20, seconds: opts?.seconds ?? 300 };
  }

  private async play(): Promise<void> {
    const bytes = this.s.bytes ?? new Uint8Array();
    const size = this.s.chunk ?? 512;
    for (let at = 0; at < bytes.length && this.running; at += size) {
      await new Promise((r) => setImmediate(r));
      for (const cb of this.out) cb(bytes.subarray(at, at + size));
    }
    if (this.running && this.s.end) this.exit(this.s.end);
  }

  private exit(e: EmulatorExitInfo): void {
    this.running = false;
    for (const cb of this.exits) cb(e);
  }

  async write(data: string | Uint8Array): Promise<void> {
    this.written.push(typeof data === 'string' ? data : new TextDecoder().decode(data));
  }
  async reset(): Promise<void> {}
  async stop(): Promise<EmulatorExitInfo> {
    this.stops++;
    const e: EmulatorExitInfo = { reason: 'stopped', code: null };
    if (this.running) this.exit(e);
    return e;
  }
  onOutput(cb: (b: Uint8Array) => void): () => void {
    this.out.add(cb);
    return () => this.out.delete(cb);
  }
  onExit(cb: (e: EmulatorExitInfo) => void): () => void {
    this.exits.add(cb);
    return () => this.exits.delete(cb);
  }
  onError(): () => void {
    return () => undefined;
  }
}

const JOB = '0b6a1c2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';
const FRAMES: DecodedFrame[] = [
  { address: '0x420073ba', function: 'crash_write', file: '/ws/project/main/crash_main.c', line: 7 },
  // RA 0x420073d4 is looked up one byte back (inside the call), so it decodes to the line of the call.
  { address: '0x420073d3', function: 'app_main', file: '/ws/project/main/crash_main.c', line: 14 },
];

/** A connector whose every attachment is a succeeded esp32c3 job with the scripted emulator. */
function fakeConnector(emu: ScriptedEmulator, calls: string[] = []): RemoteConnector {
  const status: BuildStatus = { state: 'succeeded', exit_code: 0, target: 'esp32c3', next_seq: 0, emulator: true };
  const session = (withEmulator: boolean): RemoteSession => ({
    jobId: JOB,
    call: (async (method: string, params: { addresses?: string[] }) => {
      calls.push(method);
      if (method === 'build.status') return status;
      if (method === 'log.read') return { lines: [], next_seq: 0, more: false };
      if (method === 'decode')
        return { frames: params.addresses!.map((a) => FRAMES.find((f) => f.address === a) ?? nullFrame(a)) };
      throw new Error(`unexpected ${method}`);
    }) as RemoteSession['call'],
    uploadProject: async () => undefined,
    getFile: async () => new Uint8Array(),
    onLog: () => () => undefined,
    onStatus: () => () => undefined,
    ...(withEmulator ? { emulator: emu } : {}),
    close: async () => void calls.push('close'),
  });
  return {
    start: async () => session(false),
    attach: async (_id, opts) => session(!!opts?.emulator),
  };
}
const nullFrame = (address: string): DecodedFrame => ({ address, function: null, file: null, line: null });

describe('runEmulator on real serial output', () => {
  it('stops at the pattern and stops the emulator', async () => {
    const emu = new ScriptedEmulator({ bytes: fixture('hello_world-esp32c3.log'), chunk: 100 });
    const r = await runEmulator(emu, { seconds: 30, until: 'Hello world!' });
    expect(r).toMatchObject({ stopped_because: 'pattern', pattern: 'Hello world!', reboots: 0, chip: 'esp32c3' });
    expect(r.output).toContain('Hello world!');
    expect(r.output.includes('\u001b') || r.output.includes('\r')).toBe(false);
    expect(emu.stops).toBe(1);
  });

  it('reports a panic with its addresses', async () => {
    const emu = new ScriptedEmulator({ bytes: fixture('null_pointer-esp32c3.log'), chunk: 333 });
    const r = await runEmulator(emu, { seconds: 30, until: 'Hello world!' });
    expect(r.stopped_because).toBe('panic');
    expect(r.panic?.addresses.slice(0, 2)).toEqual(['0x420073ba', '0x420073d4']);
    expect(r.output).toContain('Guru Meditation Error');
  });

  it('reports a reboot loop', async () => {
    const emu = new ScriptedEmulator({ bytes: fixture('restart-esp32c3.log') });
    const r = await runEmulator(emu, { seconds: 30, until: 'Hello world!' });
    expect(r).toMatchObject({ stopped_because: 'reboot_loop', reboots: 3 });
  });

  it("reports the machine's time limit and keeps only the end of a long output", async () => {
    const emu = new ScriptedEmulator({
      bytes: fixture('hello_world-esp32c3.log'),
      end: { reason: 'time_limit', code: null },
    });
    const r = await runEmulator(emu, { seconds: 5, tailChars: 1000 });
    expect(r.stopped_because).toBe('time_limit');
    expect(r.output.length).toBeLessThanOrEqual(1000);
    expect(r.output_truncated).toBe(true);
    expect(r.output_bytes).toBe(fixture('hello_world-esp32c3.log').length);
    expect(emu.stops).toBe(0);
  });

  it('an abort stops the emulator (reason stopped); input is typed once the app started', async () => {
    const hello = fixture('hello_world-esp32c3.log');
    const upToHello = hello.subarray(0, new TextDecoder().decode(hello).indexOf('Hello world!'));
    const emu = new ScriptedEmulator({ bytes: upToHello });
    const abort = new AbortController();
    const run = runEmulator(emu, { seconds: 30, input: 'ping\n', signal: abort.signal });
    await new Promise((r) => setTimeout(r, 10));
    void emu.played.then(() => abort.abort());
    const r = await run;
    expect(r.stopped_because).toBe('stopped');
    expect(emu.stops).toBe(1);
    expect(emu.written).toEqual(['ping\n']);
  });

  it("a refusal by the machine becomes an error naming the machine's code", async () => {
    const emu = new ScriptedEmulator({ refuse: { code: 'no_firmware', message: 'The job has no successful build.' } });
    await expect(runEmulator(emu, { seconds: 5 })).rejects.toMatchObject({
      code: 'emulator_no_firmware',
      message: expect.stringMatching(/no successful build/),
    });
  });
});

describe('espctl run --emulator exit codes', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'espctl-run-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  async function cli(args: string[], emu: ScriptedEmulator, calls: string[] = []) {
    let stdout = '';
    let stderr = '';
    const sink = (fn: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (fn(c.toString()), cb()) });
    const code = await runCli(
      args,
      {
        env: {
          CONTROL_BASE_URL: 'http://127.0.0.1:9',
          MCP_AUTH_SECRET: 'aegis_u_test',
          ESPCTL_ALLOW_INSECURE: '1',
          XDG_CONFIG_HOME: path.join(tmp, 'cfg'),
        },
        cwd: tmp,
        connectRemote: () => fakeConnector(emu, calls),
      },
      { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) },
    );
    return { code, stdout, stderr };
  }

  it('0 when the --until text appears; the serial output streams to stdout', async () => {
    const calls: string[] = [];
    const r = await cli(
      ['run', '--emulator', '--job', JOB, '--until', 'Hello world!'],
      new ScriptedEmulator({ bytes: fixture('hello_world-esp32c3.log') }),
      calls,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Hello world!\r\n');
    expect(r.stdout).toMatch(/espctl: "Hello world!" seen after [\d.]+ s\.\n$/);
    // Every session it opened was closed.
    expect(calls.filter((c) => c === 'close').length).toBe(2);
  });

  it('10 when --until is not seen before the time limit; 0 for the same run without --until', async () => {
    const timeLimit = () =>
      new ScriptedEmulator({
        bytes: fixture('hello_world-esp32c3.log').subarray(0, 1000),
        end: { reason: 'time_limit', code: null },
      });
    let r = await cli(['run', '--emulator', '--job', JOB, '--until', 'never printed', '--seconds', '5'], timeLimit());
    expect(r.code).toBe(10);
    expect(r.stdout).toContain('the time limit was reached');
    r = await cli(['run', '--emulator', '--job', JOB, '--seconds', '5'], timeLimit());
    expect(r.code).toBe(0);
  });

  it('11 on a panic, printing the backtrace decoded to function and line', async () => {
    const r = await cli(
      ['run', '--emulator', '--job', JOB, '--until', 'Hello world!'],
      new ScriptedEmulator({ bytes: fixture('null_pointer-esp32c3.log') }),
    );
    expect(r.code).toBe(11);
    expect(r.stdout).toContain("Guru Meditation Error: Core  0 panic'ed (Store access fault)");
    expect(r.stdout).toContain('0x420073ba: crash_write at /ws/project/main/crash_main.c:7');
    expect(r.stdout).toContain('0x420073d4: app_main at /ws/project/main/crash_main.c:14');
  });

  it('12 on a reboot loop; --json gives the serial output as JSON lines and the result last', async () => {
    const r = await cli(
      ['--json', 'run', '--emulator', '--job', JOB, '--until', 'Hello world!'],
      new ScriptedEmulator({ bytes: fixture('restart-esp32c3.log') }),
    );
    expect(r.code).toBe(12);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, -1).every((l) => typeof l.serial === 'string')).toBe(true);
    expect(lines.map((l) => l.serial ?? '').join('')).toContain('restarting now');
    expect(lines.at(-1)).toMatchObject({ stopped_because: 'reboot_loop', reboots: 3, exit_code: 12 });
  });

  it('usage: 2 without --emulator; a refused start is a device error (9)', async () => {
    let r = await cli(['run', '--job', JOB], new ScriptedEmulator({}));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --emulator/);
    r = await cli(
      ['run', '--emulator', '--job', JOB],
      new ScriptedEmulator({ refuse: { code: 'emulator_busy', message: 'All emulator slots are busy.' } }),
    );
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/All emulator slots are busy/);
  });
});
