import { LiveBuild } from './live-build';

/** Live builds of this tab by job id, so the build page finds the connection the new-build page opened. */
const live = new Map<string, LiveBuild>();

export function registerLive(jobId: string, b: LiveBuild) {
  live.set(jobId, b);
}
export function liveBuild(jobId: string): LiveBuild | undefined {
  return live.get(jobId);
}
