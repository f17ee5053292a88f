import type { JobParams, QueueInfo } from '@aegis/protocol';
import { buildsPair, hasSize, type MachineInfo } from './matcher.js';

/** A waiting build job, in fair queue order. */
export interface WaitingJob {
  id: string;
  userId: string;
  params: JobParams;
}

/** A build holding a slot now (assigned or running). */
export interface RunningJob {
  userId: string;
  machineId: string | null;
  params: JobParams;
  /** When it took its slot (epoch ms). */
  assignedAt: number;
}

export interface EstimateInput {
  now: number;
  /** Waiting build jobs, best first (scheduling/fairness.ts). */
  waiting: WaitingJob[];
  running: RunningJob[];
  machines: MachineInfo[];
  /** Builds one user may run at once: over that, the user's next job waits although a slot is free. */
  maxRunningPerUser: number;
  /** Typical slot time (s) of a build with these params (median of recent ones), or null when unknown. */
  durationSecs(p: JobParams): number | null;
}

/** The key a build's typical duration is kept under: its (IDF version, target) pair. */
export function pairKey(p: Pick<JobParams, 'idf_version' | 'target'>): string {
  return `${p.idf_version?.replace(/^v/, '') ?? 'default'}/${p.target ?? 'default'}`;
}

/** The median of some numbers (null for none). */
export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Each waiting job's place and estimated wait, by playing the scheduler forward: the machines that can build the
 * job's (IDF version, target) pair free their slots when their running builds are expected to end (typical
 * duration minus time already spent), and each free slot takes the first job in fair order whose user is under the
 * running limit. `ahead` counts the jobs that start before this one on those machines — the user's own earlier
 * jobs and the other users' interleaved ones, not jobs for other machines — and `estimate_secs` is when its turn
 * comes. Jobs that could also use other machines are counted as competing, so the estimate leans long.
 */
export function estimateQueue(input: EstimateInput): Map<string, QueueInfo> {
  const out = new Map<string, QueueInfo>();
  const online = input.machines.filter((m) => m.online && m.capacity);
  const capable = (p: JobParams) =>
    new Set(online.filter((m) => buildsPair(m, p.idf_version, p.target) && hasSize(m, p)).map((m) => m.id));
  const sets = new Map(input.waiting.map((j) => [j.id, capable(j.params)]));
  const byId = new Map(input.waiting.map((j) => [j.id, j]));
  // One play per distinct set of capable machines (usually one or two).
  const groups = new Map<string, { machines: Set<string>; jobs: Set<string> }>();
  for (const j of input.waiting) {
    const set = sets.get(j.id)!;
    const key = [...set].sort().join(',');
    const g = groups.get(key) ?? { machines: set, jobs: new Set<string>() };
    g.jobs.add(j.id);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const slots = online
      .filter((m) => g.machines.has(m.id))
      .reduce((n, m) => n + Math.max(0, m.capacity!.total_slots), 0);
    const competing = input.waiting.filter((j) => [...sets.get(j.id)!].some((id) => g.machines.has(id)));
    const played = play(input, g.machines, slots, competing);
    for (const id of g.jobs) {
      const r = played.get(id);
      const median = input.durationSecs(byId.get(id)!.params);
      out.set(id, {
        position: (r?.ahead ?? 0) + 1,
        ahead: r?.ahead ?? 0,
        estimate_secs: r && r.known && slots > 0 ? Math.max(0, Math.round((r.startAt - input.now) / 1000)) : null,
        capable_slots: slots,
        median_build_secs: median === null ? null : Math.round(median),
      });
    }
  }
  return out;
}

interface Played {
  ahead: number;
  startAt: number;
  /** False when a duration it depends on is unknown (no finished build yet): only the order is meaningful. */
  known: boolean;
}

/** The scheduler played forward on one set of machines: when each competing job starts, and how many before it. */
function play(input: EstimateInput, machines: Set<string>, slots: number, queue: WaitingJob[]): Map<string, Played> {
  const out = new Map<string, Played>();
  if (slots <= 0) {
    queue.forEach((j, i) => out.set(j.id, { ahead: i, startAt: input.now, known: false }));
    return out;
  }
  let known = true;
  const dur = (p: JobParams) => {
    const d = input.durationSecs(p);
    if (d === null) known = false;
    return (d ?? 0) * 1000;
  };
  // Slot free times: the running builds on these machines end when typical, idle slots are free now.
  const ends = input.running.map((r) => ({ ...r, endAt: Math.max(input.now, r.assignedAt + dur(r.params)) }));
  const free: number[] = ends.filter((r) => r.machineId && machines.has(r.machineId)).map((r) => r.endAt);
  free.length = Math.min(free.length, slots);
  while (free.length < slots) free.push(input.now);
  // Running builds per user (on any machine) and when each ends: the per-user limit holds back a user's next job.
  const userEnds = new Map<string, number[]>();
  for (const r of ends) userEnds.set(r.userId, [...(userEnds.get(r.userId) ?? []), r.endAt]);
  const left = [...queue];
  let started = 0;
  while (left.length) {
    free.sort((a, b) => a - b);
    let t = free[0]!;
    let pick: number;
    for (;;) {
      pick = left.findIndex(
        (j) => (userEnds.get(j.userId) ?? []).filter((e) => e > t).length < input.maxRunningPerUser,
      );
      if (pick >= 0) break;
      // Every waiting user is at the limit: the slot stays free until one of their builds ends.
      const next = Math.min(...left.flatMap((j) => (userEnds.get(j.userId) ?? []).filter((e) => e > t)));
      if (!Number.isFinite(next)) break;
      t = next;
    }
    if (pick < 0) break;
    const j = left.splice(pick, 1)[0]!;
    out.set(j.id, { ahead: started++, startAt: t, known });
    const end = t + dur(j.params);
    free[0] = end;
    userEnds.set(j.userId, [...(userEnds.get(j.userId) ?? []), end]);
  }
  return out;
}
