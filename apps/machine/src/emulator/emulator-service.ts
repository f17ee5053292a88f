import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EmulatedChip, Target } from '@aegis/protocol';
import type { SandboxLimits } from '../sandbox/types.js';
import type { WorkspaceSandbox } from '../sandbox/workspace-sandbox.js';
import { jobDirOf } from '../workspace/layout.js';
import { EmulatorSlots } from './emulator-slots.js';
import { isEmulatedChip } from './flash-image.js';
import { findQemu, qemuArgs, type QemuInstall } from './qemu.js';

/** Where the run's directory (holding flash.bin) appears inside the sandbox. */
export const SANDBOX_EMULATOR_DIR = '/emu';
/**
 * QEMU's UART writes its output a byte at a time to a non-blocking stdout and drops what does not fit. Node's
 * child pipes are socketpairs, where every 1-byte write takes a whole socket buffer entry: a few hundred bytes fill
 * it, so a busy machine lost UART output. A kernel pipe between them (through `cat`) holds 64 KiB of bytes and
 * `cat` forwards them in large writes; bash's pipefail keeps QEMU's exit status.
 *
 * The sandbox is made in advance and waits, parked, for a `run` line on stdin before QEMU starts (`QemuProcess.go`):
 * the sandbox's start (uid, cgroup, namespaces, mounts: tens of ms) is then off the path from `start` to the first
 * UART byte. bash's `read` takes its line a byte at a time from the unseekable stdin, so every later byte (what the
 * client types) stays for QEMU. Anything but `run` (or stdin's end) ends it without starting QEMU.
 */
const GATED_UART_THROUGH_PIPE = [
  '/bin/bash',
  '-c',
  'set -o pipefail; IFS= read -r go && [ "$go" = run ] || exit 0; "$0" "$@" | cat',
];

/** Longest run the machine allows unless AEGIS_EMULATOR_MAX_SECONDS says otherwise. */
export const DEFAULT_EMULATOR_MAX_SECONDS = 600;

/** What the emulator needs of the build backend: the job sandbox and the store holding QEMU. */
export interface EmulatorHost {
  sandbox: WorkspaceSandbox;
  storeRoot: string;
}

/** The backend's sandbox and store (`createBuildBackend` has both); undefined for a backend without them. */
export function emulatorHostOf(backend: object): EmulatorHost | undefined {
  const b = backend as Partial<EmulatorHost>;
  return b.sandbox && typeof b.storeRoot === 'string' ? { sandbox: b.sandbox, storeRoot: b.storeRoot } : undefined;
}

export function maxSecondsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.AEGIS_EMULATOR_MAX_SECONDS);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_EMULATOR_MAX_SECONDS;
}

/** A run's private copy of the flash, in the machine's own job directory (QEMU writes to it). */
export interface RunFlash {
  dir: string;
  file: string;
  dispose(): Promise<void>;
}

/** One QEMU process in the job's sandbox: made parked, started by `go`. */
export interface QemuProcess {
  child: ChildProcessWithoutNullStreams;
  /** Starts QEMU in the parked sandbox, with a safety kill a little after the run's time limit. Once only. */
  go(seconds: number): void;
  /** Whether `go` was called. */
  readonly started: boolean;
  /** Whether the process has exited (a parked sandbox can no longer be started). */
  readonly ended: boolean;
  /** Kills the whole sandbox (process group); the flash file stays for a restart. */
  kill(): void;
  /** Resolves true once the process started, false if it could not. */
  spawned: Promise<boolean>;
  /** Resolves once the process has exited and its pipes are closed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Something that can be told to end (a running emulator), for machine-wide stops. */
export interface Stoppable {
  jobId: string;
  stop(reason: 'job_ended'): void;
}

/**
 * The machine's emulators: which chips the store's QEMU runs, the machine-wide slot count, the live runs (so a
 * drain or a canceled job ends them), and how a run's flash copy and QEMU process are made.
 */
export class EmulatorService {
  readonly slots: EmulatorSlots;
  readonly maxSeconds: number;
  private qemu = new Map<EmulatedChip, QemuInstall[]>();
  private probing?: Promise<void>;
  private readonly live = new Set<Stoppable>();
  private runSeq = 0;

  constructor(
    readonly host: EmulatorHost | undefined,
    o: { slots: number; maxSeconds?: number },
  ) {
    this.slots = new EmulatorSlots(Math.max(1, o.slots));
    this.maxSeconds = o.maxSeconds ?? maxSecondsFromEnv();
  }

  /** Looks for QEMU in the store (once; `refresh` looks again, e.g. after provisioning). */
  ready(refresh = false): Promise<void> {
    if (refresh || !this.probing) {
      this.probing = this.host
        ? findQemu(this.host.storeRoot).then(
            (found) => void (this.qemu = found),
            () => undefined,
          )
        : Promise.resolve();
    }
    return this.probing;
  }

  /** The chips this machine emulates (known after `ready()`). */
  chips(): EmulatedChip[] {
    return [...this.qemu.keys()];
  }

  emulates(target: Target | undefined): boolean {
    return isEmulatedChip(target) && this.qemu.has(target);
  }

  /** QEMU for a chip, preferring the one installed with the build's IDF version. */
  qemuFor(chip: EmulatedChip, idfVersion?: string): QemuInstall | undefined {
    const list = this.qemu.get(chip) ?? [];
    return list.find((q) => q.idfVersion === idfVersion) ?? list[0];
  }

  track(run: Stoppable): () => void {
    this.live.add(run);
    return () => this.live.delete(run);
  }

  /** Live runs and parked spares (both end with their job). */
  get running(): number {
    return this.live.size;
  }

  /** Ends every emulator (machine drain) or those of one job (canceled, removed). */
  stopAll(jobId?: string): void {
    for (const r of [...this.live]) if (jobId === undefined || r.jobId === jobId) r.stop('job_ended');
  }

  /**
   * Writes the padded image to `<job dir>/emulator/<run>/flash.bin`: directories the machine owns (0755), the file
   * handed to the job's uid, which runs QEMU and must write its flash. Nothing is read or written in the workspace.
   */
  async prepareFlash(workspaceDir: string, image: Uint8Array): Promise<RunFlash> {
    const base = path.join(jobDirOf(workspaceDir), `${path.basename(path.resolve(workspaceDir))}.emulator`);
    const dir = path.join(base, `run-${process.pid}-${++this.runSeq}`);
    await mkdir(base, { recursive: true, mode: 0o755 });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o755 });
    const file = path.join(dir, 'flash.bin');
    await writeFile(file, image, { mode: 0o600, flag: 'wx' });
    const sb = this.host?.sandbox;
    const owner = sb?.privileged ? sb.ownerOf(workspaceDir) : undefined;
    if (owner !== undefined) await chown(file, owner, owner);
    return { dir, file, dispose: () => rm(dir, { recursive: true, force: true }) };
  }

  /**
   * Holds the job's sandbox uid for the rest of a run, taken at its first `reset`: without it, QEMU's exit would be
   * the workspace's last command, and the sandbox would sweep the uid and drop its cgroup before the restart (seconds under load).
   * A prepared command that is never spawned counts as running until released.
   */
  async hold(workspaceDir: string): Promise<() => void> {
    const host = this.host;
    if (!host) return () => undefined;
    const lease = await host.sandbox.prepare(
      {
        command: ['/bin/true'],
        cwd: '/',
        env: {},
        workspaceDir,
        readOnlyDirs: [host.storeRoot],
        limits: this.limits(60, 2048),
      },
      { interactive: false },
    );
    return () => lease.release();
  }

  private limits(seconds: number, memoryMb: number): SandboxLimits {
    return {
      // TCG reserves a large translation buffer; the cgroup (where there is one) bounds real memory.
      memoryMb: 2048,
      totalMemoryMb: memoryMb,
      cpuCores: 1,
      cpuSecs: seconds * 2 + 30,
      maxProcs: 512,
      fileSizeMb: 32,
      // A safety net behind the handler's own time limit.
      timeoutSecs: seconds + 30,
    };
  }

  /**
   * Makes the sandbox for QEMU on the flash, in the job's sandbox (no network, the job's cgroup, CPU/memory/time
   * limits), parked until `go`: it can be made before the client asks (see GATED_UART_THROUGH_PIPE). The rlimits
   * allow the machine's longest run; `go` arms the run's own safety kill.
   */
  async spawn(o: {
    workspaceDir: string;
    chip: EmulatedChip;
    qemu: QemuInstall;
    flash: RunFlash;
    memoryMb: number;
  }): Promise<QemuProcess> {
    const host = this.host;
    if (!host) throw new Error('this machine has no sandbox and store for the emulator');
    const sb = host.sandbox;
    const boxed = sb.kind === 'bwrap';
    const flashPath = boxed ? path.posix.join(SANDBOX_EMULATOR_DIR, 'flash.bin') : o.flash.file;
    const prepared = await sb.prepare(
      {
        command: [...GATED_UART_THROUGH_PIPE, ...qemuArgs(o.chip, o.qemu, flashPath)],
        cwd: boxed ? SANDBOX_EMULATOR_DIR : o.flash.dir,
        env: { PATH: '/usr/bin:/bin', HOME: '/tmp' },
        workspaceDir: o.workspaceDir,
        readOnlyDirs: [host.storeRoot],
        binds: boxed ? [{ from: o.flash.dir, to: SANDBOX_EMULATOR_DIR }] : [],
        limits: this.limits(this.maxSeconds, o.memoryMb),
      },
      { interactive: false },
    );
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(prepared.file, prepared.args, {
        cwd: prepared.cwd,
        env: prepared.env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      prepared.release();
      throw err;
    }
    // Listened for at once: 'spawn' comes on the next tick, before any await of the caller returns.
    const spawned = new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 2048) stderr += c.toString('utf8').slice(0, 2048 - stderr.length);
    });
    child.stdin.on('error', () => undefined);
    let safety: NodeJS.Timeout | undefined;
    let started = false;
    let ended = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
      let spawnError: Error | undefined;
      child.on('error', (e) => {
        spawnError = e;
      });
      child.on('close', (code, signal) => {
        ended = true;
        clearTimeout(safety);
        // Nothing of the group may outlive its leader; the sandbox's uid sweep follows in release().
        killGroup();
        prepared.release();
        resolve({ code, signal, stderr: spawnError ? `could not start QEMU: ${spawnError.message}` : stderr });
      });
    });
    return {
      child,
      go(seconds: number) {
        if (started) return;
        started = true;
        safety = setTimeout(killGroup, (seconds + 30) * 1000);
        child.stdin.write('run\n');
      },
      get started() {
        return started;
      },
      get ended() {
        return ended;
      },
      kill: killGroup,
      spawned,
      exited,
    };
  }
}
