import { LiveBuild, type BuildOptions } from '../build/live-build';
import { registerLive, releaseWhenIdle } from '../build/registry';
import type { ProjectStore } from './project-store';
import type { Project } from './types';

/**
 * Starts a build of the project's current files, the way the new-build page does, and remembers the job and the
 * files it was built from (for the diff and the history). `onJob` runs once the machine took the job and the
 * record is written; a failure to start is left in the returned build's store.
 */
export async function startProjectBuild(
  store: ProjectStore,
  project: Project,
  extra: Pick<BuildOptions, 'clean'>,
  onJob: (jobId: string) => void,
  now: () => number = Date.now,
): Promise<{ build: LiveBuild; started: boolean }> {
  const files = await store.files(project.id);
  // A finished earlier build of this project may still hold its machine connection (and a slot there): the new
  // build supersedes it, so it is let go now rather than after the idle delay (its page offers to reattach).
  for (const b of await store.builds(project.id)) releaseWhenIdle(b.jobId, 0);
  const options: BuildOptions = { ...project.options, ...(extra.clean ? { clean: true } : {}) };
  const build = new LiveBuild('build');
  let started = false;
  await build.start(files, options, (jobId) => {
    started = true;
    registerLive(jobId, build);
    const record = { jobId, projectId: project.id, projectName: project.name, startedAt: now(), options };
    // The build goes on either way; without the record only the diff and the history's project name are missing.
    void store
      .recordBuild(record, files)
      .catch(() => {})
      .finally(() => onJob(jobId));
  });
  return { build, started };
}
