import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Runs `ip …`; throws with its stderr when it fails. */
export function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/**
 * Three private network namespaces, made with `ip netns` and veth pairs:
 *
 *   client 10.77.1.2 ── 10.77.1.1  server  10.77.2.1 ── 10.77.2.2 machine
 *                            10.77.0.1 (lo): API and coturn
 *
 * The server does not forward, and client and machine have a route to 10.77.0.1 only: they cannot reach each other,
 * so WebRTC between them works only through the TURN relay.
 */
export class Topology {
  readonly id = randomBytes(3).toString('hex');
  readonly server = `aegis-s-${this.id}`;
  readonly client = `aegis-c-${this.id}`;
  readonly machine = `aegis-m-${this.id}`;
  readonly serverIp = '10.77.0.1';
  readonly clientIp = '10.77.1.2';
  readonly machineIp = '10.77.2.2';
  private readonly procs: ChildProcess[] = [];

  create(): void {
    for (const ns of [this.server, this.client, this.machine]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('-n', this.server, 'addr', 'add', `${this.serverIp}/32`, 'dev', 'lo');
    ip('-n', this.server, 'link', 'add', 'to-c', 'type', 'veth', 'peer', 'name', 'to-s', 'netns', this.client);
    ip('-n', this.server, 'link', 'add', 'to-m', 'type', 'veth', 'peer', 'name', 'to-s', 'netns', this.machine);
    const link = (ns: string, dev: string, cidr: string) => {
      ip('-n', ns, 'addr', 'add', cidr, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
    };
    link(this.server, 'to-c', '10.77.1.1/24');
    link(this.server, 'to-m', '10.77.2.1/24');
    link(this.client, 'to-s', `${this.clientIp}/24`);
    link(this.machine, 'to-s', `${this.machineIp}/24`);
    ip('-n', this.client, 'route', 'add', `${this.serverIp}/32`, 'via', '10.77.1.1');
    ip('-n', this.machine, 'route', 'add', `${this.serverIp}/32`, 'via', '10.77.2.1');
  }

  /** Starts `cmd` inside namespace `ns`; every line of its output goes to `onLine`. */
  spawn(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, onLine: (l: string) => void): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(child);
    for (const s of [child.stdout!, child.stderr!]) {
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    return child;
  }

  /** Stops what was started in the namespaces (SIGTERM, then SIGKILL) and deletes them. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }),
    );
    for (const ns of [this.server, this.client, this.machine]) spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** Resolves once `pattern` appears in `lines`; rejects after `ms` with them. */
export async function waitForLine(lines: string[], pattern: RegExp, ms: number, what: string): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const hit = lines.find((l) => pattern.test(l));
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`${what}: no ${pattern} within ${ms / 1000} s:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
