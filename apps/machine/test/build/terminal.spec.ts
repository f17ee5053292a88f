import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePart, harness, helloProject, request, timedBuild, workspace, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.cleanup();
});

type Prepared = { file: string; args: string[]; env: Record<string, string>; cwd: string };

function runPrepared(cmd: Prepared, input: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd.file, cmd.args, { env: cmd.env, cwd: cmd.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => resolve(out));
    p.stdin.end(input);
  });
}

/** A command under a real pty, with a way to wait until its screen shows something. */
function onPty(cmd: Prepared, cols = 120, rows = 40) {
  const p = pty.spawn(cmd.file, cmd.args, { name: 'xterm-256color', cols, rows, cwd: cmd.cwd, env: cmd.env });
  let out = '';
  p.onData((d) => (out += d));
  const exit = new Promise<number>((r) => p.onExit(({ exitCode }) => r(exitCode)));
  return {
    p,
    exit,
    output: () => out,
    /** Waits until the output since `from` matches; fails with the tail of the screen. */
    async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<number> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out.slice(from));
        if (m) return from + m.index + m[0].length;
        if (Date.now() > until)
          throw new Error(`no ${re} within ${timeoutMs} ms; output ends with:\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

describe('terminal inside the job sandbox', () => {
  it('a shell runs in the project as the sandbox user, with the ESP-IDF environment: idf.py is on PATH', async () => {
    const ws = await workspace(h, helloProject());
    const cmd = await h.backend.terminal(ws, 'shell');
    const out = await runPrepared(
      cmd,
      'pwd; id -u; idf.py --version; echo "IDF_PATH=$IDF_PATH"; ls /root 2>&1; exit\n',
    );
    cmd.dispose?.();
    expect(out).toContain('/ws/project');
    expect(out).toMatch(/^1000$/m);
    expect(out).toMatch(/^ESP-IDF v5\.1\.6$/m);
    expect(out).toContain(`IDF_PATH=${path.join(h.storeRoot, 'idf/5.1.6/esp-idf')}`);
    expect(out).toMatch(/ls: cannot access '\/root'/);
  }, 60_000);

  it('runs under a real pty with job control, resize and the exit code', async () => {
    const ws = await workspace(h, helloProject());
    const cmd = await h.backend.terminal(ws, 'shell');
    const t = onPty(cmd, 80, 24);
    t.p.resize(100, 30);
    t.p.write('stty size; sleep 100 & jobs; kill %1; exit 7\r');
    expect(await t.exit).toBe(7);
    cmd.dispose?.();
    expect(t.output()).toContain('30 100');
    expect(t.output()).toMatch(/Running\s+sleep 100/);
  }, 60_000);

  it(
    'menuconfig is the real kconfig menuconfig: jump to a symbol, select it, save to sdkconfig',
    async () => {
      const ws = await workspace(h, helloProject());
      const cmd = await h.backend.terminal(ws, 'menuconfig');
      const t = onPty(cmd);
      try {
        // idf.py configures the project first (CMake + kconfgen), then starts menuconfig.py on the pty.
        let at = await t.waitFor(/Espressif IoT Development Framework Configuration/, 10 * 60_000);
        t.p.write('/');
        at = await t.waitFor(/Search/i, 30_000, at);
        t.p.write('ESPTOOLPY_FLASHSIZE_8MB');
        at = await t.waitFor(/8 MB/, 30_000, at);
        t.p.write('\r'); // jump to the symbol: the "Flash size" choice
        at = await t.waitFor(/Flash size/, 30_000, at);
        t.p.write(' '); // select it
        await new Promise((r) => setTimeout(r, 500));
        t.p.write('S');
        at = await t.waitFor(/Save configuration/i, 30_000, at);
        t.p.write('\r');
        await t.waitFor(/Configuration saved/i, 30_000, at);
        t.p.write('\r');
        await new Promise((r) => setTimeout(r, 500));
        t.p.write('Q');
        expect(await t.exit).toBe(0);
      } finally {
        t.p.kill();
        cmd.dispose?.();
      }
      const sdkconfig = await readFile(path.join(ws, 'project', 'sdkconfig'), 'utf8');
      expect(sdkconfig).toContain('CONFIG_ESPTOOLPY_FLASHSIZE_8MB=y');
      expect(sdkconfig).toContain('CONFIG_ESPTOOLPY_FLASHSIZE="8MB"');
      expect(sdkconfig).toContain('# CONFIG_ESPTOOLPY_FLASHSIZE_2MB is not set');
    },
    15 * 60_000,
  );
});

describe('--sandbox=none', () => {
  it(
    'builds real firmware and warns in the log of every build, also a second job of the same project',
    async () => {
      const none = await harness({ sandbox: 'none' });
      try {
        // Without the sandbox each job's project has its own host path, which CMake records in the cached build/.
        for (const what of ['first job', 'second job']) {
          const { req, log } = request(await workspace(none, helloProject()), { target: 'esp32c3' });
          const out = await timedBuild(none.backend, req, `--sandbox=none ${what}`);
          expect(out.state, log.text().slice(-3000)).toBe('succeeded');
          expect(log.lines.find((l) => l.stream === 'system' && /WITHOUT a sandbox/.test(l.text))).toBeDefined();
          expect((await bundlePart(out, 'app')).manifest.chip).toBe('esp32c3');
        }
      } finally {
        await none.cleanup();
      }
    },
    40 * 60_000,
  );
});
