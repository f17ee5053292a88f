import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile, access, constants } from 'node:fs/promises';
import path from 'node:path';

export interface CgroupLimits {
  memoryMb: number;
  maxProcs: number;
  /** CPU bandwidth in cores (cfs quota), where the cpu controller is available. */
  cpuCores: number;
}

const PERIOD_US = 100_000;

/** A per-job cgroup: a real memory cap for the whole process tree (RLIMIT_AS is per process) and a pids cap. */
export interface CgroupJail {
  /** `cgroup.procs` files a process must write its pid into before it execs the sandbox. */
  procsFiles: string[];
  destroy(): Promise<void>;
}

export interface CgroupDriver {
  readonly version: 'v1' | 'v2';
  create(name: string, limits: CgroupLimits): Promise<CgroupJail>;
}

const ROOT = '/sys/fs/cgroup';

async function writable(dir: string): Promise<boolean> {
  return access(dir, constants.W_OK).then(
    () => true,
    () => false,
  );
}

async function pids(procsFile: string): Promise<number[]> {
  const text = await readFile(procsFile, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

/** Kills what is left in the cgroups, then removes them (retrying while the kernel finishes the exits). */
async function destroyDirs(dirs: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    let left = 0;
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const pid of await pids(path.join(dir, 'cgroup.procs'))) {
        left++;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      if (left === 0) await rmdir(dir).catch(() => undefined);
    }
    if (dirs.every((d) => !existsSync(d))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function v1(): CgroupDriver {
  return {
    version: 'v1',
    async create(name, limits) {
      const mem = path.join(ROOT, 'memory', 'aegis', name);
      const pid = path.join(ROOT, 'pids', 'aegis', name);
      const cpuRoot = path.join(ROOT, 'cpu');
      const cpu = (await writable(cpuRoot)) ? path.join(cpuRoot, 'aegis', name) : undefined;
      const dirs = cpu ? [mem, pid, cpu] : [mem, pid];
      await destroyDirs(dirs);
      for (const d of dirs) await mkdir(d, { recursive: true });
      if (cpu) {
        await writeFile(path.join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US));
        await writeFile(path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpuCores * PERIOD_US)));
      }
      const bytes = String(limits.memoryMb * 1024 * 1024);
      await writeFile(path.join(mem, 'memory.limit_in_bytes'), bytes);
      // Without swap accounting the build could page out instead of hitting the cap.
      if (existsSync(path.join(mem, 'memory.memsw.limit_in_bytes'))) {
        await writeFile(path.join(mem, 'memory.memsw.limit_in_bytes'), bytes).catch(() => undefined);
      }
      await writeFile(path.join(pid, 'pids.max'), String(limits.maxProcs));
      return {
        procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')),
        destroy: () => destroyDirs(dirs),
      };
    },
  };
}

function v2(): CgroupDriver {
  return {
    version: 'v2',
    async create(name, limits) {
      const parent = path.join(ROOT, 'aegis');
      const dir = path.join(parent, name);
      await destroyDirs([dir]);
      await mkdir(parent, { recursive: true });
      await writeFile(path.join(parent, 'cgroup.subtree_control'), '+memory +pids');
      const withCpu = await writeFile(path.join(parent, 'cgroup.subtree_control'), '+cpu').then(
        () => true,
        () => false,
      );
      await mkdir(dir, { recursive: true });
      if (withCpu)
        await writeFile(path.join(dir, 'cpu.max'), `${Math.round(limits.cpuCores * PERIOD_US)} ${PERIOD_US}`);
      await writeFile(path.join(dir, 'memory.max'), String(limits.memoryMb * 1024 * 1024));
      await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      await writeFile(path.join(dir, 'pids.max'), String(limits.maxProcs));
      return { procsFiles: [path.join(dir, 'cgroup.procs')], destroy: () => destroyDirs([dir]) };
    },
  };
}

/**
 * The cgroup driver this host allows us to use, or undefined (then only rlimits apply). v2 needs the memory and
 * pids controllers available at the root; v1 needs writable memory and pids hierarchies.
 */
export async function detectCgroups(): Promise<CgroupDriver | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const controllers = await readFile(path.join(ROOT, 'cgroup.controllers'), 'utf8').catch(() => undefined);
  if (controllers !== undefined) {
    const ok = /\bmemory\b/.test(controllers) && /\bpids\b/.test(controllers) && (await writable(ROOT));
    return ok ? v2() : undefined;
  }
  if ((await writable(path.join(ROOT, 'memory'))) && (await writable(path.join(ROOT, 'pids')))) return v1();
  return undefined;
}
