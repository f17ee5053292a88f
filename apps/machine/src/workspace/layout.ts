import path from 'node:path';

/**
 * A job directory, owned by the machine: `<jobDir>/ws/` is the workspace (the job uid's, bound at /ws and the
 * only place the build writes), next to it what only the machine writes: the upload, the artifacts, the quota image.
 * Everything derives from the workspace path, so the backend, the agent and the sweep agree without a registry.
 */
export const jobDirOf = (workspaceDir: string): string => path.dirname(path.resolve(workspaceDir));
export const workspaceOf = (jobDir: string): string => path.join(jobDir, 'ws');
export const artifactsDirOf = (workspaceDir: string): string => path.join(jobDirOf(workspaceDir), 'artifacts');
export const uploadTarOf = (workspaceDir: string): string => path.join(jobDirOf(workspaceDir), 'upload.tar');
export const quotaImageOf = (workspaceDir: string): string => path.join(jobDirOf(workspaceDir), 'ws.img');
