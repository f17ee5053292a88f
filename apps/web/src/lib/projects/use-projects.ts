'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import type { BuildOptions } from '../build/live-build';
import { projectStore } from './project-store';
import { startProjectBuild } from './start-build';
import type { Project } from './types';

/**
 * TanStack Query over the browser's project store. Keys start with 'projects' (one project: ['projects', id, …])
 * or 'project-builds' (build records by job id), so one invalidation refreshes everything a change touched.
 */
export const projectKeys = {
  all: ['projects'] as const,
  one: (id: string) => ['projects', id] as const,
  files: (id: string) => ['projects', id, 'files'] as const,
  builds: (id: string) => ['projects', id, 'builds'] as const,
  lastSources: (id: string) => ['projects', id, 'last-sources'] as const,
  byJob: ['project-builds'] as const,
  ofJob: (jobId: string) => ['project-builds', jobId] as const,
};

export const useProjects = () => useQuery({ queryKey: projectKeys.all, queryFn: () => projectStore.list() });

export const useProject = (id: string) =>
  useQuery({ queryKey: projectKeys.one(id), queryFn: async () => (await projectStore.get(id)) ?? null });

export const useProjectFiles = (id: string) =>
  useQuery({ queryKey: projectKeys.files(id), queryFn: () => projectStore.files(id), staleTime: Infinity });

export const useProjectBuilds = (id: string) =>
  useQuery({ queryKey: projectKeys.builds(id), queryFn: () => projectStore.builds(id) });

export const useLastBuildSources = (id: string) =>
  useQuery({ queryKey: projectKeys.lastSources(id), queryFn: () => projectStore.lastBuildSources(id) });

/** Build records of this browser by job id: the history names the project each build came from. */
export const useProjectBuildsByJob = () =>
  useQuery({ queryKey: projectKeys.byJob, queryFn: () => projectStore.buildsByJob() });

/** The project a build was started from (null when it was not, or the browser has no record of it). */
export const useProjectOfJob = (jobId: string) =>
  useQuery({
    queryKey: projectKeys.ofJob(jobId),
    queryFn: async () => {
      const build = await projectStore.buildOfJob(jobId);
      if (!build) return null;
      return { build, project: (await projectStore.get(build.projectId)) ?? null };
    },
  });

export function useInvalidateProjects() {
  const qc = useQueryClient();
  return () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: projectKeys.all }),
      qc.invalidateQueries({ queryKey: projectKeys.byJob }),
    ]);
}

export interface ProjectOfBuild {
  projectId: string;
  name: string;
  /** False when the project was deleted from this browser since (the name is the one it had then). */
  exists: boolean;
}

/** For the build history: which project (of this browser) each job was started from, by job id. */
export function useProjectOfBuild(): (jobId: string) => ProjectOfBuild | null {
  const builds = useProjectBuildsByJob();
  const projects = useProjects();
  const byId = new Map((projects.data ?? []).map((p) => [p.id, p]));
  return (jobId) => {
    const b = builds.data?.get(jobId);
    if (!b) return null;
    const p = byId.get(b.projectId);
    return { projectId: b.projectId, name: p?.name ?? b.projectName, exists: !!p };
  };
}

/**
 * Starts a build of a project's current files and opens its page once the machine took it. Resolves to why it did
 * not start, or null when it did.
 */
export function useStartProjectBuild(): (project: Project, extra: Pick<BuildOptions, 'clean'>) => Promise<unknown> {
  const router = useRouter();
  const invalidate = useInvalidateProjects();
  return async (project, extra) => {
    try {
      const { build, started } = await startProjectBuild(projectStore, project, extra, (jobId) => {
        void invalidate();
        router.push(`/builds/${jobId}`);
      });
      return started ? null : build.store.get().error;
    } catch (e) {
      return e;
    }
  };
}
