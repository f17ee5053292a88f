import { createHash, randomUUID } from 'node:crypto';
import type { ProjectConfig } from '../config/project-config.js';
import type { ProjectFiles } from '../config/project-files.js';

interface Package {
  name: string;
  version: string;
  supplier: string;
  origin: string;
}

/** Dependencies listed in an idf_component.yml (`dependencies:` block, "name: version" or "name: {version: x}"). */
export function componentDependencies(yml: string): Array<{ name: string; version: string }> {
  const out: Array<{ name: string; version: string }> = [];
  const lines = yml.split(/\r?\n/);
  let inDeps = false;
  let current: { name: string; version: string } | undefined;
  for (const raw of lines) {
    if (/^dependencies:\s*$/.test(raw)) {
      inDeps = true;
      continue;
    }
    if (inDeps && /^\S/.test(raw)) inDeps = false;
    if (!inDeps) continue;
    const top = /^ {2}([^\s:#][^:]*):\s*(.*)$/.exec(raw);
    if (top) {
      const name = top[1].trim().replace(/^["']|["']$/g, '');
      const version = top[2].trim().replace(/^["']|["']$/g, '');
      current = { name, version: version || '*' };
      out.push(current);
      continue;
    }
    const nested = /^ {4,}version:\s*(.+)$/.exec(raw);
    if (nested && current) current.version = nested[1].trim().replace(/^["']|["']$/g, '');
  }
  return out;
}

/** An SPDX 2.3 JSON document: the project, ESP-IDF and every component with the version we can find. */
export async function createSbom(
  project: ProjectFiles,
  config: ProjectConfig,
  now: Date,
): Promise<Record<string, unknown>> {
  const files = await project.list();
  const pkgs: Package[] = [];
  const name = config.name ?? 'project';
  pkgs.push({
    name: 'esp-idf',
    version: config.idfVersion ?? 'unspecified',
    supplier: 'Organization: Espressif Systems',
    origin: 'https://github.com/espressif/esp-idf',
  });
  const componentDirs = [...new Set(files.filter((f) => f.startsWith('components/')).map((f) => f.split('/')[1]))];
  for (const c of componentDirs)
    pkgs.push({ name: c, version: 'local', supplier: 'NOASSERTION', origin: `components/${c}` });
  for (const f of files.filter((x) => x.endsWith('idf_component.yml'))) {
    const text = await project.read(f);
    for (const d of componentDependencies(text ?? '')) {
      if (d.name === 'idf') continue;
      pkgs.push({
        name: d.name,
        version: d.version,
        supplier: 'NOASSERTION',
        origin: `https://components.espressif.com/components/${d.name}`,
      });
    }
  }
  const id = (s: string): string => 'SPDXRef-Package-' + s.replace(/[^A-Za-z0-9.-]/g, '-');
  const digest = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 16);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${name}-sbom`,
    documentNamespace: `https://aegis.invalid/spdx/${name}-${digest}-${randomUUID()}`,
    creationInfo: { created: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: ['Tool: espctl'] },
    packages: [
      {
        SPDXID: id(name),
        name,
        versionInfo: 'local',
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        supplier: 'NOASSERTION',
      },
      ...pkgs.map((p) => ({
        SPDXID: id(p.name),
        name: p.name,
        versionInfo: p.version,
        downloadLocation: p.origin.startsWith('http') ? p.origin : 'NOASSERTION',
        filesAnalyzed: false,
        supplier: p.supplier,
      })),
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: id(name) },
      ...pkgs.map((p) => ({ spdxElementId: id(name), relationshipType: 'DEPENDS_ON', relatedSpdxElement: id(p.name) })),
    ],
  };
}
