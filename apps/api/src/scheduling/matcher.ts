import type { JobParams, MachineCapacity } from '@aegis/protocol';

/** What the scheduler needs to know about a machine. */
export interface MachineInfo {
  id: string;
  name: string;
  online: boolean;
  capacity: MachineCapacity | null;
  idfVersions: string[];
  targets: string[];
  /** (IDF version, target) pairs; empty from machines that only report the two lists. */
  builds: Array<{ idf_version: string; target: string }>;
}

/** What the scheduler needs to know about a job. */
export interface JobNeeds {
  params: JobParams;
  pinnedMachineId: string | null;
}

const normIdf = (v: string) => v.replace(/^v/, '');

export function hasIdf(m: MachineInfo, v: string | undefined): boolean {
  return v === undefined || m.idfVersions.some((x) => normIdf(x) === normIdf(v));
}
export function hasTarget(m: MachineInfo, t: string | undefined): boolean {
  return t === undefined || m.targets.includes(t);
}
/** The version and the target must be built together: a version may not support every target of the machine. */
export function buildsPair(m: MachineInfo, v: string | undefined, t: string | undefined): boolean {
  if (!hasIdf(m, v) || !hasTarget(m, t)) return false;
  if (m.builds.length === 0) return true;
  return m.builds.some(
    (b) => (v === undefined || normIdf(b.idf_version) === normIdf(v)) && (t === undefined || b.target === t),
  );
}
export function hasSize(m: MachineInfo, p: JobParams): boolean {
  return !!m.capacity && m.capacity.cpu_cores >= p.cpu_cores && m.capacity.memory_mb >= p.memory_mb;
}
export function hasFreeSlot(m: MachineInfo): boolean {
  return !!m.capacity && m.capacity.free_slots > 0;
}

/**
 * Can this machine run this job right now? A pinned job (an attach to an earlier job's results) needs only its
 * machine online: it reads what is already there, so it takes no build slot and no toolchain.
 */
export function fits(m: MachineInfo, j: JobNeeds): boolean {
  if (j.pinnedMachineId !== null) return j.pinnedMachineId === m.id && m.online;
  return m.online && buildsPair(m, j.params.idf_version, j.params.target) && hasSize(m, j.params) && hasFreeSlot(m);
}

export type Placement = { ok: true; candidates: MachineInfo[] } | { ok: false; reason: string };

/**
 * Machines that could ever take the job (online, the (version, target) pair, big enough), or the first reason
 * none can, in the order a person would check. Free slots do not matter: a job for busy machines waits in the
 * queue until one frees.
 */
export function place(machines: MachineInfo[], j: JobNeeds): Placement {
  let pool = machines.filter((m) => m.online);
  if (j.pinnedMachineId !== null) {
    pool = pool.filter((m) => m.id === j.pinnedMachineId);
    if (!pool.length)
      return { ok: false, reason: 'The machine that ran the parent job is offline; try again when it is back.' };
    return { ok: true, candidates: pool };
  }
  if (!pool.length) return { ok: false, reason: 'No build machine is online; start one or ask an administrator.' };
  const v = j.params.idf_version;
  const withIdf = pool.filter((m) => hasIdf(m, v));
  if (!withIdf.length) {
    const have = [...new Set(pool.flatMap((m) => m.idfVersions))].join(', ') || 'none';
    return { ok: false, reason: `No online machine has ESP-IDF ${v} (available: ${have}).` };
  }
  const t = j.params.target;
  const withTarget = withIdf.filter((m) => buildsPair(m, v, t));
  if (!withTarget.length) {
    const pairs = [...new Set(withIdf.flatMap((m) => m.builds.map((b) => `${b.target} (IDF ${b.idf_version})`)))];
    return {
      ok: false,
      reason:
        `No online machine builds target ${t}${v ? ` with ESP-IDF ${v}` : ''}` +
        (pairs.length ? ` (available: ${pairs.join(', ')}).` : '.'),
    };
  }
  const big = withTarget.filter((m) => hasSize(m, j.params));
  if (!big.length)
    return {
      ok: false,
      reason: `No online machine has ${j.params.cpu_cores} CPU cores and ${j.params.memory_mb} MB of memory; ask for less.`,
    };
  return { ok: true, candidates: big };
}
