import { isTerminalJobState } from '@aegis/protocol';
import type { LiveBuild } from './live-build';

/** Live builds of this tab by job id, so the build page finds the connection the new-build page opened. */
const live = new Map<string, LiveBuild>();
const releaseTimers = new Map<string, ReturnType<typeof setTimeout>>();

/**
 * A finished build's connection still holds a slot on its machine; once nobody looks at it for this long, it is
 * closed (the build page offers to reattach).
 */
export const IDLE_RELEASE_MS = 60_000;

export function registerLive(jobId: string, b: LiveBuild) {
  live.set(jobId, b);
}

export function liveBuild(jobId: string): LiveBuild | undefined {
  const t = releaseTimers.get(jobId);
  if (t) clearTimeout(t);
  releaseTimers.delete(jobId);
  return live.get(jobId);
}

/** Called when the build page goes away: a finished build's link is closed after IDLE_RELEASE_MS. */
export function releaseWhenIdle(jobId: string, ms = IDLE_RELEASE_MS) {
  const b = live.get(jobId);
  const state = b?.store.get().status?.state;
  if (!b || !state || !isTerminalJobState(state)) return;
  const t0 = releaseTimers.get(jobId);
  if (t0) clearTimeout(t0);
  releaseTimers.set(
    jobId,
    setTimeout(() => {
      releaseTimers.delete(jobId);
      live.delete(jobId);
      b.close();
    }, ms),
  );
}
