import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRtcConfig, startRemoteSession, type RemoteSession } from '@aegis/peer';
import type { LogLine } from '@aegis/protocol';
import { eventually, startSandboxedStack } from './harness.js';
import { makeTar } from './tar-writer.js';

const HELLO = makeTar([
  {
    name: 'CMakeLists.txt',
    data: 'cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(hello_world)\n',
  },
  { name: 'main/', type: '5' },
  { name: 'main/CMakeLists.txt', data: 'idf_component_register(SRCS "hello_world_main.c" INCLUDE_DIRS ".")\n' },
  { name: 'main/hello_world_main.c', data: '#include <stdio.h>\n\nvoid app_main(void)\n{\n}\n' },
]);

/**
 * The built agent with the real backend in a bwrap sandbox: a terminal runs beside builds of its job (the machine
 * touches the workspace only as its owner, so an open terminal no longer stops the cache), exits, and reopens
 * a fresh shell in the same workspace.
 */
describe('pty channel in the bwrap sandbox: exit, reopen, and the sandbox lease', () => {
  let stack: Awaited<ReturnType<typeof startSandboxedStack>>;
  let api: typeof stack.api;
  let s: RemoteSession;

  beforeAll(async () => {
    stack = await startSandboxedStack('pty-bwrap');
    api = stack.api;
  }, 5 * 60_000);
  afterAll(async () => {
    await s?.close();
    await stack?.stop();
  });

  it(
    'a running shell holds the lease; after exit and a second shell’s exit, the next build is idle again',
    async () => {
      s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
      const lines: LogLine[] = [];
      s.espctl!.on('log', (l) => lines.push(l));
      /** Runs a build and returns the log lines it wrote. */
      const build = async () => {
        const from = lines.length;
        await s.espctl!.call('build.start', {});
        const st = await s.espctl!.waitForBuild();
        expect(
          st.state,
          `${JSON.stringify(st.error)}\n${lines
            .slice(-30)
            .map((l) => l.text)
            .join('\n')}`,
        ).toBe('succeeded');
        const { next_seq } = await s.espctl!.call('build.status', {});
        await eventually(
          async () => lines.length,
          (n) => n >= next_seq,
          5000,
        );
        return lines.slice(from).map((l) => l.text);
      };
      await s.espctl!.uploadProject(HELLO);
      await s.espctl!.call('set_target', { target: 'esp32c3' });
      expect(await build()).toContainEqual('Build succeeded.');

      const pty = s.pty!;
      let out = '';
      const exits: (number | null)[] = [];
      pty.onData((d) => (out += d.toString()));
      pty.onExit((e) => exits.push(e.code));

      await pty.open({ cols: 80, rows: 24 });
      await pty.write('echo first-$((2+2)) > first.txt; cat first.txt\n');
      await eventually(
        async () => out,
        (o) => o.includes('first-4'),
        15_000,
      );
      // While the shell runs, a rebuild works as usual: nothing to compile, the state restored-or-kept.
      expect(await build()).toContainEqual('Build succeeded.');
      await pty.write('exit 2\n');
      await eventually(
        async () => exits.length,
        (n) => n === 1,
        15_000,
      );
      expect(exits[0]).toBe(2);

      out = '';
      await pty.open({ cols: 80, rows: 24 });
      await pty.write('echo second-$(cat first.txt); id -u; exit 0\n');
      await eventually(
        async () => exits.length,
        (n) => n === 2,
        15_000,
      );
      expect(exits[1]).toBe(0);
      expect(out).toContain('second-first-4');
      expect(out).toMatch(/^1000\r?$/m);

      // Both terminals are gone (their processes swept with them); the next build runs normally.
      const after = await build();
      expect(after).toContainEqual('Build succeeded.');
    },
    30 * 60_000,
  ); // the first build is a clean real ESP-IDF build
});
