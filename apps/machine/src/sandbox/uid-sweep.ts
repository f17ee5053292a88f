import { readdir, readFile } from 'node:fs/promises';

async function pidsOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    // A zombie is already dead; only its parent (often the host's init, after a bwrap monitor died) reaps it.
    const zombie = /^State:\s+Z/m.test(status);
    if (real !== undefined && Number(real) === uid && !zombie) pids.push(Number(name));
  }
  return pids;
}

/**
 * Kills every process of a dedicated sandbox uid and waits until none is left, so the uid goes back to the pool
 * clean (RLIMIT_NPROC of the next job must not count leftovers). Returns how many were still there at first.
 */
export async function sweepUid(uid: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let first: number | undefined;
  for (;;) {
    const pids = await pidsOf(uid);
    first ??= pids.length;
    if (pids.length === 0 || Date.now() > deadline) return first;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Tasks (threads included, as RLIMIT_NPROC counts them) that `uid` runs right now. */
export async function taskCount(uid: number): Promise<number> {
  let n = 0;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) n += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  }
  return n;
}
