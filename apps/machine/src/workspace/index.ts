import { createDirectSandbox } from '../sandbox/direct-sandbox.js';
import { WorkspaceOps } from './workspace-ops.js';

export { WorkspaceOps, UnpackRefused, isMountPoint, type ProjectFiles, type ProjectFile } from './workspace-ops.js';
export * from './layout.js';

let direct: WorkspaceOps | undefined;

/**
 * The workspace operations of a build backend (`createBuildBackend` has them as `workspaces`). A backend without
 * them (the test fixture backend, which runs unconfined anyway) gets operations that run with the machine's own
 * rights and no quota.
 */
export function workspaceOpsOf(backend: object): WorkspaceOps {
  const own = (backend as { workspaces?: unknown }).workspaces;
  if (own instanceof WorkspaceOps) return own;
  direct ??= new WorkspaceOps({ sandbox: createDirectSandbox(), quotaMb: 0 });
  return direct;
}
