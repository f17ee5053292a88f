import { existsSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { bwrapArgs, prlimitArgs, SANDBOX_WORKSPACE, type BwrapLayout } from './bwrap-args.js';
import { assertReachable } from './reachable.js';
import { spawnTree, type SpawnTreeOptions } from './spawn-tree.js';
import type { PreparedCommand, RunIo, RunResult, SandboxSpec } from './types.js';
import type { CgroupDriver, CgroupJail } from './cgroup-jail.js';
import { UidLocks } from './uid-lock.js';
import { UidPool } from './uid-pool.js';
import { sweepUid, taskCount } from './uid-sweep.js';
import { spawnBinary } from './spawn-binary.js';
import { SANDBOX_ARTIFACTS, SANDBOX_HELPER, type WorkspaceSandbox } from './workspace-sandbox.js';
import { BackendError } from '../build/errors.js';
import { artifactsDirOf } from '../workspace/layout.js';

export interface BwrapSandboxOptions {
  layout: BwrapLayout;
  uidPool?: UidPool;
  /** Where host-wide uid claims live (default /run/aegis/sandbox-uids). */
  uidLockDir?: string;
  /** Defaults to the binaries in /usr/bin. */
  bwrapPath?: string;
  prlimitPath?: string;
  setprivPath?: string;
  /** Per-job memory and pids caps for the whole process tree (detectCgroups()); rlimits only when absent. */
  cgroups?: CgroupDriver;
}

/**
 * The bubblewrap sandbox. As root, each run gets a dedicated host uid (setpriv) so RLIMIT_NPROC really bounds
 * it, and bwrap then runs unprivileged in a new user namespace where the build sees itself as uid 1000.
 */
export function createBwrapSandbox(opts: BwrapSandboxOptions): WorkspaceSandbox {
  const bwrap = opts.bwrapPath ?? '/usr/bin/bwrap';
  const prlimit = opts.prlimitPath ?? '/usr/bin/prlimit';
  const setpriv = opts.setprivPath ?? '/usr/bin/setpriv';
  for (const [name, p] of [
    ['bubblewrap (bwrap)', bwrap],
    ['prlimit (util-linux)', prlimit],
  ] as const) {
    if (!existsSync(p)) {
      throw new BackendError(
        'sandbox_unavailable',
        `${name} is not installed at ${p}; install it (apt-get install bubblewrap util-linux) or start the machine ` +
          'with --sandbox=none (unsafe: builds then run with the machine’s own rights).',
      );
    }
  }
  const isRoot = process.getuid?.() === 0;
  if (isRoot && !existsSync(setpriv)) {
    throw new BackendError('sandbox_unavailable', `setpriv is not installed at ${setpriv}; install util-linux.`);
  }
  const pool =
    opts.uidPool ??
    new UidPool(61000, 512, isRoot ? new UidLocks(opts.uidLockDir ?? '/run/aegis/sandbox-uids') : undefined);

  const jails = new Map<number, CgroupJail>();
  const creating = new Map<number, Promise<CgroupJail>>();
  /** Running commands (builds, terminals, helper runs) per workspace. */
  const runs = new Map<string, number>();
  /** A workspace whose last command just ended: its uid is being swept; the next command waits for that. */
  const settling = new Map<string, Promise<void>>();

  /** Kills whatever the uid still runs and drops its cgroups. */
  async function sweep(uid: number): Promise<void> {
    await sweepUid(uid);
    const jail = jails.get(uid);
    jails.delete(uid);
    await jail?.destroy();
  }

  /**
   * The last command of a workspace ended: nothing of the job may keep running (a terminal's background jobs
   * die with it). A claimed uid stays with its workspace; an unclaimed one goes back to the pool once swept.
   */
  async function releaseUid(key: string): Promise<void> {
    const left = (runs.get(key) ?? 1) - 1;
    if (left > 0) runs.set(key, left);
    else runs.delete(key);
    const held = pool.uidOf(key);
    const uid = pool.release(key);
    if (uid !== undefined) {
      try {
        await sweep(uid);
      } finally {
        pool.free(uid);
      }
    } else if (left === 0 && held !== undefined) {
      const done = sweep(held).finally(() => settling.delete(key));
      settling.set(key, done);
      await done;
    }
  }

  /** Puts the sandbox into the job's cgroups first (a tiny root shell writes its pid, then execs setpriv). */
  function inJail(uid: number, file: string, args: string[]): { file: string; args: string[] } {
    const jail = jails.get(uid);
    if (!jail) return { file, args };
    const script =
      'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';
    return {
      file: '/bin/sh',
      args: ['-c', script, 'sh', String(jail.procsFiles.length), ...jail.procsFiles, file, ...args],
    };
  }

  async function commandLine(
    spec: SandboxSpec,
    interactive: boolean,
  ): Promise<{ file: string; args: string[]; uid?: number; key?: string }> {
    // Unprivileged, the build shares our uid, so its process limit sits on top of what we already run.
    const nprocBase = isRoot ? 0 : (await taskCount(process.getuid?.() ?? 0)) + 64;
    const artifacts = artifactsDirOf(spec.workspaceDir);
    // Only a directory the machine made (its own): never expose some other host directory by accident.
    const own = await lstat(artifacts).catch(() => undefined);
    const roBinds: Array<[string, string]> =
      own?.isDirectory() && own.uid === process.getuid?.() ? [[artifacts, SANDBOX_ARTIFACTS]] : [];
    const inner = (addressSpaceMb?: number): string[] => [
      ...prlimitArgs(spec, { nprocBase, addressSpaceMb }),
      '--',
      bwrap,
      ...bwrapArgs(spec, opts.layout, { interactive, roBinds }),
    ];
    const key = path.resolve(spec.workspaceDir);
    if (!isRoot) {
      // Unprivileged machine: the workspace is already ours and there is no dedicated uid.
      runs.set(key, (runs.get(key) ?? 0) + 1);
      return { file: prlimit, args: inner(), key };
    }
    await settling.get(key);
    if (pool.uidOf(key) === undefined) {
      throw new BackendError(
        'workspace_unclaimed',
        'The job workspace has no owner on this machine yet (it was not opened through its workspace operations).',
      );
    }
    const { uid } = pool.acquire(key);
    runs.set(key, (runs.get(key) ?? 0) + 1);
    try {
      await assertReachable(spec.workspaceDir, uid, 'job workspace');
      for (const d of spec.readOnlyDirs) await assertReachable(d, uid, 'store');
      await assertReachable(path.dirname(opts.layout.passwdFile), uid, 'sandbox state directory');
      if (opts.cgroups && !jails.has(uid)) {
        // Two commands of one workspace may start together (the cache packing beside `idf.py size`): they share
        // one creation of the uid's cgroups instead of racing to make (and remake) the same directories.
        let making = creating.get(uid);
        if (!making) {
          making = opts.cgroups.create(`uid-${uid}`, {
            memoryMb: spec.limits.totalMemoryMb,
            maxProcs: spec.limits.maxProcs,
            cpuCores: spec.limits.cpuCores,
          });
          creating.set(uid, making);
          void making.catch(() => undefined).finally(() => creating.delete(uid));
        }
        const jail = await making;
        if (!jails.has(uid)) jails.set(uid, jail);
      }
    } catch (e) {
      await releaseUid(key);
      throw e;
    }
    // With a cgroup capping the real memory of the whole tree, the per-process address-space limit only has to
    // stop absurd mappings: V8, Go and Java reserve far more address space than they ever touch.
    const addressSpaceMb = jails.has(uid)
      ? Math.max(spec.limits.memoryMb, 4 * spec.limits.totalMemoryMb, 8192)
      : undefined;
    const args = [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      ...(spec.groups?.length ? [`--groups=${spec.groups.join(',')}`] : ['--clear-groups']),
      '--inh-caps=-all',
      '--bounding-set=-all',
      prlimit,
      ...inner(addressSpaceMb),
    ];
    return { ...inJail(uid, setpriv, args), uid, key };
  }

  const release = async (key: string): Promise<void> => {
    if (isRoot) await releaseUid(key);
    else {
      const left = (runs.get(key) ?? 1) - 1;
      if (left > 0) runs.set(key, left);
      else runs.delete(key);
    }
  };

  /** One non-interactive command in the sandbox, spawned by `spawn`, its uid given back when it ends. */
  async function runSpawned<T>(spec: SandboxSpec, spawn: (o: SpawnTreeOptions) => Promise<T>): Promise<T> {
    const cl = await commandLine(spec, false);
    try {
      return await spawn({
        file: cl.file,
        args: cl.args,
        env: { PATH: '/usr/bin:/bin' },
        cwd: '/',
        timeoutSecs: spec.limits.timeoutSecs,
      });
    } finally {
      if (cl.key !== undefined) await release(cl.key);
    }
  }

  return {
    kind: 'bwrap',
    privileged: isRoot,
    helperPath: SANDBOX_HELPER,
    isIdle: (workspaceDir) => !runs.has(path.resolve(workspaceDir)),
    workspacePath: () => SANDBOX_WORKSPACE,
    ownerOf: (workspaceDir) => (isRoot ? pool.uidOf(path.resolve(workspaceDir)) : process.getuid?.()),
    async claim(workspaceDir: string, prefer?: number): Promise<number> {
      if (!isRoot) return process.getuid?.() ?? 0;
      const key = path.resolve(workspaceDir);
      await settling.get(key);
      const { uid, fresh } = pool.acquire(key, prefer);
      // A uid handed out afresh must not bring processes of a machine that died with it.
      if (fresh) await sweep(uid);
      return uid;
    },
    async unclaim(workspaceDir: string): Promise<void> {
      if (!isRoot) return;
      const key = path.resolve(workspaceDir);
      if (!pool.isHeld(key)) return;
      const uid = pool.release(key);
      if (uid === undefined) return;
      try {
        await sweep(uid);
      } finally {
        pool.free(uid);
      }
    },
    exec: (spec, io) => runSpawned(spec, (o) => spawnBinary(o, io)),
    run: (spec: SandboxSpec, io: RunIo): Promise<RunResult> => runSpawned(spec, (o) => spawnTree(o, io)),
    async prepare(spec: SandboxSpec, o: { interactive: boolean }): Promise<PreparedCommand> {
      const cl = await commandLine(spec, o.interactive);
      let released = false;
      return {
        file: cl.file,
        args: cl.args,
        env: { PATH: '/usr/bin:/bin' },
        cwd: '/',
        release: () => {
          if (!released && cl.key !== undefined) void release(cl.key);
          released = true;
        },
      };
    },
  };
}
