import path from 'node:path';

/**
 * A job directory, owned by the machine: `<jobDir>/ws/` is the workspace (the job uid's, bound at /ws and the
 * only place the build writes), next to it what only the machine writes: the upload, the artifacts, the quota image.
 * Everything derives from the workspace path, so the backend, the agent and the sweep agree without a registry.
 */
export const jobDirOf = (workspaceDir: string): string => path.dirname(path.resolve(workspaceDir));
export const workspaceOf = (jobDir: string): string => path.join(jobDir, 'ws');

/**
 * `<jobDir>/<name>` for a workspace named `ws` (the agent's jobs); for a workspace made elsewhere under another
 * name (tests, tools: several side by side in one directory) `<dir>/<name of ws>.<name>`, so they never share.
 */
function besideWorkspace(workspaceDir: string, name: string): string {
  const ws = path.resolve(workspaceDir);
  const base = path.basename(ws);
  return path.join(path.dirname(ws), base === 'ws' ? name : `${base}.${name}`);
}

export const artifactsDirOf = (workspaceDir: string): string => besideWorkspace(workspaceDir, 'artifacts');
export const uploadTarOf = (workspaceDir: string): string => besideWorkspace(workspaceDir, 'upload.tar');
export const quotaImageOf = (workspaceDir: string): string => besideWorkspace(workspaceDir, 'ws.img');
