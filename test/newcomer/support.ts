import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A port nobody listens on right now (the kernel's pick, released again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** `npm start` in `dir` as its own process group, the way a terminal runs it (Ctrl-C reaches the whole group). */
export class NpmStart {
  readonly output: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(dir: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('npm', ['start'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.child.stdout!, this.child.stderr!])
      s.on('data', (b: Buffer) => this.output.push(b.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get text(): string {
    return this.output.join('');
  }

  /** Resolves when `pattern` shows up in the output; rejects with the output when npm start exits first. */
  async waitFor(pattern: RegExp, withinMs: number): Promise<void> {
    const until = Date.now() + withinMs;
    let done = false;
    void this.exited.then(() => (done = true));
    while (!pattern.test(this.text)) {
      if (done) throw new Error(`npm start exited before ${pattern}:\n${this.text}`);
      if (Date.now() > until) throw new Error(`no ${pattern} within ${withinMs / 1000} s:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Whether any process of the group is still alive. */
  groupAlive(): boolean {
    try {
      process.kill(-this.child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Ctrl-C: SIGINT to the whole group. */
  interrupt(): void {
    process.kill(-this.child.pid!, 'SIGINT');
  }

  /** Last resort after a failed test: nothing of the group may outlive it. */
  kill(): void {
    if (this.groupAlive()) process.kill(-this.child.pid!, 'SIGKILL');
  }
}
