import { spawn } from 'node:child_process';
import pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, helloProject, request, workspace, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.cleanup();
});

function runPrepared(
  cmd: { file: string; args: string[]; env: Record<string, string>; cwd: string },
  input: string,
): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd.file, cmd.args, { env: cmd.env, cwd: cmd.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => resolve(out));
    p.stdin.end(input);
  });
}

describe('terminal inside the job sandbox', () => {
  it('a shell runs in the project, as the sandbox user, with idf.py on PATH after export.sh', async () => {
    const ws = await workspace(h, helloProject());
    const cmd = await h.backend.terminal(ws, 'shell');
    const out = await runPrepared(cmd, 'pwd; id -u; . "$IDF_PATH/export.sh"; idf.py --version; ls /root 2>&1; exit\n');
    cmd.dispose?.();
    expect(out).toContain('/ws/project');
    expect(out).toMatch(/^1000$/m);
    expect(out).toContain('Aegis test toolchain');
    expect(out).toMatch(/ls: cannot access '\/root'/);
  });

  it('runs under a real pty with job control, resize and the exit code', async () => {
    const ws = await workspace(h, helloProject());
    const cmd = await h.backend.terminal(ws, 'shell');
    const p = pty.spawn(cmd.file, cmd.args, { name: 'xterm-256color', cols: 80, rows: 24, cwd: cmd.cwd, env: cmd.env });
    let out = '';
    p.onData((d) => (out += d));
    const exit = new Promise<number>((r) => p.onExit(({ exitCode }) => r(exitCode)));
    p.resize(100, 30);
    p.write('stty size; sleep 100 & jobs; kill %1; exit 7\r');
    expect(await exit).toBe(7);
    cmd.dispose?.();
    expect(out).toContain('30 100');
    expect(out).toMatch(/Running\s+sleep 100/);
  });

  it('menuconfig edits sdkconfig, and the next build uses it', async () => {
    const ws = await workspace(h, helloProject());
    const cmd = await h.backend.terminal(ws, 'menuconfig');
    const out = await runPrepared(cmd, '2\n4MB\ns\n');
    cmd.dispose?.();
    expect(out).toContain('Configuration saved to sdkconfig');
    const { req } = request(ws, { target: 'esp32c3' });
    const built = await h.backend.build(req);
    expect(built.state).toBe('succeeded');
    const { readFile } = await import('node:fs/promises');
    const manifest = JSON.parse(await readFile(`${built.artifactsDir}/bundle/manifest.json`, 'utf8'));
    expect(manifest.flash.size).toBe('4MB');
  });
});

describe('--sandbox=none', () => {
  it('builds, and warns in the log of every build', async () => {
    const none = await harness({ sandbox: 'none' });
    try {
      for (let i = 0; i < 2; i++) {
        const { req, log } = request(await workspace(none, helloProject()), { target: 'esp32c3' });
        const out = await none.backend.build(req);
        expect(out.state).toBe('succeeded');
        expect(log.lines.find((l) => l.stream === 'system' && /WITHOUT a sandbox/.test(l.text))).toBeDefined();
      }
    } finally {
      await none.cleanup();
    }
  });
});
