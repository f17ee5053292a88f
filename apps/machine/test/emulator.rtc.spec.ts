import { mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EmulatorClient,
  attachToJob,
  loopbackRtcConfig,
  startRemoteSession,
  type EmulatorExit,
  type RemoteSession,
} from '@aegis/peer';
import { renderProjectTemplate } from '@aegis/esp';
import type { ChannelName, LogLine, Target } from '@aegis/protocol';
import { realIdfStore } from '@aegis/testkit';
import { createMachineToken } from '@aegis/testkit/api';
import { startMachine, type StartedMachine } from '@aegis/testkit/machine';
import { startTestApi } from './harness.js';
import { makeTar } from './tar-writer.js';

/**
 * The emulator channel end to end: the built agent with the real backend (ESP-IDF 5.1.6 in a bwrap sandbox, one
 * build slot), the real API, real WebRTC on loopback, and the kit's QEMU running what the machine built.
 */

/** An app that greets, then echoes each line it reads from the UART, forever. */
const ECHO_MAIN = `#include <stdio.h>
#include <string.h>
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

void app_main(void)
{
    printf("Hello world!\\n");
    fflush(stdout);
    char line[128];
    size_t n = 0;
    for (;;) {
        int c = getchar();
        if (c == EOF) {
            clearerr(stdin);
            vTaskDelay(pdMS_TO_TICKS(10));
            continue;
        }
        if (c == '\\r' || c == '\\n') {
            line[n] = 0;
            if (n) printf("echo: %s\\n", line);
            fflush(stdout);
            n = 0;
        } else if (n < sizeof line - 1) {
            line[n++] = (char)c;
        }
    }
}
`;

function projectTar(files: Record<string, string>): Buffer {
  const dirs = new Set<string>();
  for (const rel of Object.keys(files)) {
    const parts = rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/') + '/');
  }
  return makeTar([
    ...[...dirs].map((name) => ({ name, type: '5' as const })),
    ...Object.entries(files).map(([name, data]) => ({ name, data })),
  ]);
}

const helloFiles = (target: Target) => renderProjectTemplate('hello_world', { name: 'hello_world', target });
const echoFiles = () => {
  const files = renderProjectTemplate('empty', { name: 'uart_echo', target: 'esp32c3' });
  const main = Object.keys(files).find((f) => /^main\/uart_echo\.c$/.test(f))!;
  return { ...files, [main]: ECHO_MAIN };
};

/** UART output of a client as text, with a way to wait for a piece of it. */
function outputOf(emu: EmulatorClient) {
  let text = '';
  const waiters = new Set<() => void>();
  emu.onOutput((b) => {
    text += Buffer.from(b).toString('latin1');
    for (const w of [...waiters]) w();
  });
  return {
    get text() {
      return text;
    },
    count: (needle: string) => text.split(needle).length - 1,
    /** Resolves once `needle` appeared `times` times (the test's own timeout bounds the wait). */
    waitFor(needle: string, times = 1): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (text.split(needle).length - 1 >= times) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** QEMU processes started by this test's machine: their ancestry leads to a command naming its work dir. */
function ourQemus(workDir: string): number[] {
  const info = new Map<number, { ppid: number; cmd: string }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      info.set(Number(e), { ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  const ours: number[] = [];
  for (const pid of info.keys()) {
    // The sandbox's own processes (sh, setpriv, bwrap) name QEMU in their arguments; only QEMU runs its binary.
    if (!path.basename(safeExe(pid)).startsWith('qemu-system-')) continue;
    for (let q = info.get(pid), hops = 0; q && hops < 20; q = info.get(q.ppid), hops++)
      if (q.cmd.includes(workDir)) {
        ours.push(pid);
        break;
      }
  }
  return ours;
}
function safeExe(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

async function until<T>(fn: () => T, pred: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (pred(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the emulator channel (real ESP-IDF 5.1.6, real QEMU, real WebRTC)', () => {
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let machine: StartedMachine;
  const sessions: RemoteSession[] = [];
  const jobs: Partial<Record<'c3' | 'esp32' | 'echo', string>> = {};
  const channels: ChannelName[] = ['espctl', 'firmware', 'emulator'];

  const open = async (jobId?: string) => {
    const s = jobId
      ? await attachToJob({
          baseUrl: api.url,
          apiKey: api.userKey,
          rtcConfig: loopbackRtcConfig,
          jobId,
          channels,
          timeoutMs: 60_000,
        })
      : await startRemoteSession({
          baseUrl: api.url,
          apiKey: api.userKey,
          rtcConfig: loopbackRtcConfig,
          // Builds on a loaded shared machine can pass the default 15-minute job limit.
          request: { required_channels: channels, timeout_secs: 3600 },
          timeoutMs: 120_000,
        });
    sessions.push(s);
    return s;
  };

  /** Uploads and builds a project through the machine; returns the session (still open). */
  const build = async (files: Record<string, string>, target: Target) => {
    const s = await open();
    const lines: LogLine[] = [];
    s.espctl!.on('log', (l) => lines.push(l));
    await s.espctl!.uploadProject(projectTar(files));
    await s.espctl!.call('set_target', { target });
    await s.espctl!.call('build.start', {});
    const done = await s.espctl!.waitForBuild();
    expect(
      done,
      lines
        .map((l) => l.text)
        .join('\n')
        .slice(-4000),
    ).toMatchObject({ state: 'succeeded', target });
    return s;
  };

  beforeAll(async () => {
    api = await startTestApi();
    const { token } = await createMachineToken(api.url, api.adminKey, 'emulator-machine');
    // A work dir kept between runs: the machine's build cache makes a rerun's builds incremental.
    const workDir = path.join(tmpdir(), 'aegis-emulator-test-machine');
    mkdirSync(workDir, { recursive: true });
    machine = await startMachine({
      apiUrl: api.url,
      token,
      jwksPath: api.jwksPath,
      storeRoot: realIdfStore(),
      sandbox: 'bwrap',
      workDir,
      env: { AEGIS_MACHINE_SLOTS: '1' },
    });
  }, 5 * 60_000);

  afterAll(async () => {
    for (const s of sessions) await s.close().catch(() => undefined);
    await machine?.stop();
    await api?.stop();
  });

  it(
    'refuses a job without a build, then runs hello_world for esp32c3: Hello world! on the UART, stop ends it',
    async () => {
      const s = await open();
      await expect(s.emulator!.start()).rejects.toMatchObject({ code: 'no_firmware' });
      const tar = projectTar(helloFiles('esp32c3'));
      await s.espctl!.uploadProject(tar);
      await s.espctl!.call('set_target', { target: 'esp32c3' });
      await s.espctl!.call('build.start', {});
      expect(await s.espctl!.waitForBuild()).toMatchObject({ state: 'succeeded', emulator: true });
      jobs.c3 = s.jobId;

      const out = outputOf(s.emulator!);
      const ready = await s.emulator!.start({ seconds: 120 });
      expect(ready).toEqual({ chip: 'esp32c3', flash_bytes: 2 * 1024 * 1024, seconds: 120 });
      await out.waitFor('Hello world!');
      // hello_world prints its chip line after the greeting; the UART may deliver it in a later frame.
      await out.waitFor('This is esp32c3 chip');
      // Every UART byte arrives: the bootloader's partition table line is whole.
      expect(out.text).toMatch(/phy_init +RF data +01 01 0000f000 00001000/);
      expect(ourQemus(machine.workDir)).toHaveLength(1);
      const exit = await s.emulator!.stop();
      expect(exit).toMatchObject({ reason: 'stopped', code: null });
      await until(
        () => ourQemus(machine.workDir),
        (l) => l.length === 0,
      );
    },
    20 * 60_000,
  );

  it(
    'runs hello_world built for esp32 on the ESP32 machine',
    async () => {
      const s = await build(helloFiles('esp32'), 'esp32');
      jobs.esp32 = s.jobId;
      const out = outputOf(s.emulator!);
      expect(await s.emulator!.start({ seconds: 120 })).toMatchObject({ chip: 'esp32' });
      await out.waitFor('Hello world!');
      // hello_world prints its chip line after the greeting; the UART may deliver it in a later frame.
      await out.waitFor('This is esp32 chip');
      // Every UART byte arrives: the bootloader's partition table line is whole.
      expect(out.text).toMatch(/phy_init +RF data +01 01 0000f000 00001000/);
      expect((await s.emulator!.stop()).reason).toBe('stopped');
    },
    20 * 60_000,
  );

  it(
    'echoes what the client types, reboots on reset, and stops at the time limit',
    async () => {
      const s = await build(echoFiles(), 'esp32c3');
      jobs.echo = s.jobId;
      const emu = s.emulator!;
      const out = outputOf(emu);
      const readies: number[] = [];
      emu.onReady((r) => readies.push(r.seconds));
      await emu.start({ seconds: 30 });
      await out.waitFor('Hello world!');
      await emu.write('ping from the client\r');
      await out.waitFor('echo: ping from the client');

      await emu.reset();
      await out.waitFor('Hello world!', 2);
      expect(readies).toHaveLength(2);
      // The rebooted firmware reads the UART too.
      await emu.write('after reset\n');
      await out.waitFor('echo: after reset');
      expect((await emu.stop()).reason).toBe('stopped');

      const exit = emu.exited();
      await emu.start({ seconds: 3 });
      expect(await exit).toMatchObject({ reason: 'time_limit', code: null });
      await until(
        () => ourQemus(machine.workDir),
        (l) => l.length === 0,
      );
    },
    20 * 60_000,
  );

  it(
    'runs an image the client sends instead of the job image',
    async () => {
      // The esp32 build's merged image, run on the esp32c3 job's channel: the image decides the machine.
      const src = await open(jobs.esp32);
      const merged = await src.firmware!.fetch('merged.bin');
      const s = await open(jobs.c3);
      // Bytes without a bootloader where either chip keeps it are refused, not booted as the job's chip.
      await expect(s.emulator!.start({ image: new Uint8Array(64 * 1024), seconds: 60 })).rejects.toMatchObject({
        code: 'bad_image',
        message: expect.stringMatching(/no ESP32-C3 bootloader at 0x0 and no ESP32 bootloader at 0x1000/),
      });
      const out = outputOf(s.emulator!);
      const ready = await s.emulator!.start({ image: new Uint8Array(merged.data), seconds: 60 });
      expect(ready).toMatchObject({ chip: 'esp32', flash_bytes: 2 * 1024 * 1024 });
      await out.waitFor('This is esp32 chip');
      // Every UART byte arrives: the bootloader's partition table line is whole.
      expect(out.text).toMatch(/phy_init +RF data +01 01 0000f000 00001000/);
      expect((await s.emulator!.stop()).reason).toBe('stopped');
      await src.close();
      await s.close();
    },
    5 * 60_000,
  );

  it(
    'allows as many emulators as build slots, and none outlives its channel or its peer',
    async () => {
      const a = await open(jobs.echo);
      const b = await open(jobs.c3);
      const outA = outputOf(a.emulator!);
      await a.emulator!.start({ seconds: 120 });
      await expect(b.emulator!.start()).rejects.toMatchObject({ code: 'emulator_busy' });
      await outA.waitFor('Hello world!');

      // The client closes the channel: QEMU goes, and the slot is free again.
      a.emulator!.channel.close();
      await until(
        () => ourQemus(machine.workDir),
        (l) => l.length === 0,
      );
      const outB = outputOf(b.emulator!);
      // The slot comes back when the run's exit is done; a start may race it, so retry a refusal briefly.
      let ready;
      for (let i = 0; i < 20 && !ready; i++) {
        ready = await b.emulator!.start({ seconds: 120 }).catch(async (e: { code?: string }) => {
          if (e.code !== 'emulator_busy') throw e;
          await new Promise((r) => setTimeout(r, 250));
          return undefined;
        });
      }
      expect(ready).toMatchObject({ chip: 'esp32c3' });
      await outB.waitFor('Hello world!');
      const exited: Promise<EmulatorExit> = b.emulator!.exited().catch(() => ({ reason: 'stopped', code: null }));

      // The peer leaves without a word: its QEMU goes too.
      await b.close();
      await exited;
      await until(
        () => ourQemus(machine.workDir),
        (l) => l.length === 0,
      );
    },
    5 * 60_000,
  );
});
