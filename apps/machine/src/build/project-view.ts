import type { WorkspaceOps } from '../workspace/workspace-ops.js';
import type { ProjectView } from './sbom.js';

/**
 * The project's listings and component manifests for the SBOM, read by the workspace owner in the sandbox
 * (two rounds: the component directories first, then one entry of each and the manifests).
 */
export async function readProjectView(ops: WorkspaceOps, workspaceDir: string): Promise<ProjectView> {
  const first = await ops.projectView(workspaceDir, { list: ['main', 'components'], read: [] });
  const components = (first.lists.components ?? []).filter((c) => /^[^/\\]+$/.test(c));
  const second = await ops.projectView(workspaceDir, {
    list: components.map((c) => `components/${c}`),
    read: [
      'dependencies.lock',
      'idf_component.yml',
      'main/idf_component.yml',
      ...components.map((c) => `components/${c}/idf_component.yml`),
    ],
  });
  const lists = { ...first.lists, ...second.lists };
  return {
    list: (rel) => lists[rel] ?? undefined,
    text: (rel) => second.texts[rel] ?? undefined,
  };
}
