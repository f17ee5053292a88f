import { describe, expect, it } from 'vitest';
import { bwrapArgs, prlimitArgs } from '../../src/sandbox/bwrap-args.js';
import type { SandboxSpec } from '../../src/sandbox/types.js';

const spec: SandboxSpec = {
  command: ['idf.py', 'build'],
  cwd: '/ws/project',
  env: { PATH: '/usr/bin' },
  workspaceDir: '/var/lib/aegis/jobs/j1',
  readOnlyDirs: ['/opt/espctl-store'],
  limits: {
    memoryMb: 2048,
    totalMemoryMb: 1024,
    cpuCores: 2,
    cpuSecs: 600,
    maxProcs: 512,
    fileSizeMb: 1024,
    timeoutSecs: 300,
  },
};
const layout = {
  systemDirs: ['/usr'],
  symlinks: [{ target: 'usr/bin', path: '/bin' }],
  etcFiles: ['/etc/ld.so.cache'],
  passwdFile: '/var/lib/aegis/sandbox-etc/passwd',
  groupFile: '/var/lib/aegis/sandbox-etc/group',
};

function binds(args: string[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  args.forEach((a, i) => {
    if (a === '--bind' || a === '--ro-bind') out.push([a, args[i + 1], args[i + 2]]);
  });
  return out;
}

describe('bwrap arguments', () => {
  it('isolate network, pids, ipc, uts and users, drop every capability and die with the machine', () => {
    const a = bwrapArgs(spec, layout, { interactive: false });
    for (const f of [
      '--unshare-net',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-user',
      '--die-with-parent',
      '--new-session',
      '--disable-userns',
    ]) {
      expect(a).toContain(f);
    }
    expect(a.join(' ')).toContain('--cap-drop ALL');
    expect(a.join(' ')).toContain('--uid 1000');
    expect(a).toContain('--clearenv');
    expect(a.slice(a.indexOf('--'))).toEqual(['--', 'idf.py', 'build']);
  });

  it('the workspace is the only writable bind; the store and system are read-only; no host home, /root, /work or /tmp', () => {
    const b = binds(bwrapArgs(spec, layout, { interactive: false }));
    expect(b.filter(([kind]) => kind === '--bind')).toEqual([['--bind', '/var/lib/aegis/jobs/j1', '/ws']]);
    expect(b).toContainEqual(['--ro-bind', '/opt/espctl-store', '/opt/espctl-store']);
    expect(b).toContainEqual(['--ro-bind', '/usr', '/usr']);
    for (const [, src] of b) expect(src).not.toMatch(/^\/(root|home|work|tmp)(\/|$)/);
    const a = bwrapArgs(spec, layout, { interactive: false });
    expect(a.indexOf('--remount-ro')).toBeGreaterThan(a.lastIndexOf('--bind'));
  });

  it('an interactive terminal keeps its controlling tty (no --new-session)', () => {
    expect(bwrapArgs(spec, layout, { interactive: true })).not.toContain('--new-session');
  });

  it('limits become prlimit arguments; NPROC on top of what a shared uid already runs', () => {
    expect(prlimitArgs(spec, { nprocBase: 0 })).toEqual([
      `--as=${2048 * 1024 * 1024}`,
      '--cpu=600',
      `--fsize=${1024 * 1024 * 1024}`,
      '--core=0',
      '--nproc=512',
    ]);
    expect(prlimitArgs(spec, { nprocBase: 100 })).toContain('--nproc=612');
  });
});
