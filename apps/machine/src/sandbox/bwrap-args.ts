import type { SandboxSpec } from './types.js';

/** The job workspace is always mounted here, so paths cached by a build stay valid from one job to the next. */
export const SANDBOX_WORKSPACE = '/ws';
/** Inside the sandbox the build runs as this uid (mapped to a dedicated host uid). */
export const SANDBOX_UID = 1000;

export interface BwrapLayout {
  /** Read-only system directories that exist on this host (e.g. /usr, /opt/…), bound at the same path. */
  systemDirs: string[];
  /** Top-level symlinks to recreate (`/bin` → `usr/bin` on merged-/usr systems). */
  symlinks: Array<{ target: string; path: string }>;
  /** Single /etc files to expose (ld.so.cache, alternatives…), bound read-only. */
  etcFiles: string[];
  /** Synthetic /etc/passwd and /etc/group for the sandbox user. */
  passwdFile: string;
  groupFile: string;
  /** The workspace helper program (workspace/helper-program.ts), bound read-only at SANDBOX_HELPER. */
  helperFile?: string;
}

/**
 * bubblewrap arguments for one command: new user/net/pid/ipc/uts/cgroup namespaces (loopback only), no
 * capabilities, a tmpfs root with read-only system directories, the store read-only at its own path, and the
 * workspace as the only writable place. Nothing else of the host (home, /root, /work, the repo, /tmp) is visible.
 */
export function bwrapArgs(
  spec: SandboxSpec,
  layout: BwrapLayout,
  opts: { interactive: boolean; roBinds?: Array<[from: string, to: string]> },
): string[] {
  const a: string[] = [
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--disable-userns',
    '--unshare-net',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'aegis-build',
    '--die-with-parent',
    '--cap-drop',
    'ALL',
  ];
  // A new session stops TIOCSTI injection into the caller's terminal; an interactive shell on its own pty
  // needs to keep that pty as its controlling terminal.
  if (!opts.interactive) a.push('--new-session');
  for (const dir of layout.systemDirs) a.push('--ro-bind', dir, dir);
  for (const link of layout.symlinks) a.push('--symlink', link.target, link.path);
  for (const file of layout.etcFiles) a.push('--ro-bind', file, file);
  a.push('--ro-bind', layout.passwdFile, '/etc/passwd', '--ro-bind', layout.groupFile, '/etc/group');
  a.push('--proc', '/proc', '--dev', '/dev');
  a.push('--size', String(256 * 1024 * 1024), '--tmpfs', '/tmp');
  for (const dir of spec.readOnlyDirs) a.push('--ro-bind', dir, dir);
  if (layout.helperFile) a.push('--ro-bind', layout.helperFile, '/aegis/ws-helper.cjs');
  for (const [from, to] of opts.roBinds ?? []) a.push('--ro-bind', from, to);
  a.push('--bind', spec.workspaceDir, SANDBOX_WORKSPACE);
  for (const b of spec.binds ?? []) a.push('--bind', b.from, b.to);
  // Everything bwrap created on the root tmpfs (/etc, mount points) becomes read-only too.
  a.push('--remount-ro', '/');
  a.push('--chdir', spec.cwd);
  a.push('--clearenv');
  for (const [k, v] of Object.entries(spec.env)) a.push('--setenv', k, v);
  a.push('--', ...spec.command);
  return a;
}

/**
 * prlimit arguments applying the limits to the sandbox and everything it starts. `nprocBase` is how many
 * processes the real uid already runs (0 for a dedicated uid): RLIMIT_NPROC counts them all.
 */
export function prlimitArgs(spec: SandboxSpec, opts: { nprocBase: number; addressSpaceMb?: number }): string[] {
  const mib = 1024 * 1024;
  const l = spec.limits;
  const a = [
    `--as=${(opts.addressSpaceMb ?? l.memoryMb) * mib}`,
    `--cpu=${l.cpuSecs}`,
    `--fsize=${l.fileSizeMb * mib}`,
    '--core=0',
  ];
  a.push(`--nproc=${opts.nprocBase + l.maxProcs}`);
  return a;
}
