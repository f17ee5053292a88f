import {
  SPDX_NOASSERTION,
  type SpdxDocument,
  type SpdxFile,
  type SpdxPackage,
  type SpdxRelationship,
} from '@aegis/protocol';
import type { ProjectComponent } from './project-components.js';

export interface SbomTool {
  name: string;
  version?: string;
  sha256?: string;
}

export interface SbomInput {
  /** The firmware: the project name and the app version from its esp_app_desc (or PROJECT_VER). */
  project: { name: string; version?: string };
  /** ESP-IDF that builds it. */
  idf?: { version: string; commit?: string };
  target?: string;
  components: readonly ProjectComponent[];
  toolchain: readonly SbomTool[];
  /** Built images and other outputs, by sha256 (paths relative to the artifacts directory). */
  files: ReadonlyArray<{ name: string; sha256: string }>;
  /** `aegis-machine-0.1.0`, `espctl-0.1.0`: becomes `Tool: <creator>`. */
  creator: string;
  created: Date;
  /** Makes the namespace unique per document; random when not given. Never a secret (it is in the SBOM). */
  uniqueId?: string;
}

const NOA = SPDX_NOASSERTION;
const idPart = (s: string): string => s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';

/**
 * One SPDX 2.3 JSON document for an ESP-IDF firmware: the project, ESP-IDF, each project component (local and
 * managed, with versions), the toolchain, and the built images as files with their SHA256. Pure: every input is a
 * parameter, so the build machine and espctl (plan-only, no build) make the same shape.
 */
export function makeSpdxSbom(o: SbomInput): SpdxDocument {
  const used = new Set<string>();
  const newId = (kind: string, name: string): string => {
    const base = `SPDXRef-${kind}-${idPart(name)}`;
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}-${i}`;
    used.add(id);
    return id;
  };
  const pkg = (
    kind: string,
    name: string,
    p: Partial<Omit<SpdxPackage, 'SPDXID' | 'name'>> & { versionInfo?: string },
  ): SpdxPackage => ({
    SPDXID: newId(kind, name),
    name,
    versionInfo: p.versionInfo || NOA,
    downloadLocation: p.downloadLocation ?? NOA,
    filesAnalyzed: false,
    licenseConcluded: p.licenseConcluded ?? NOA,
    licenseDeclared: p.licenseDeclared ?? NOA,
    copyrightText: NOA,
    ...(p.supplier ? { supplier: p.supplier } : {}),
    ...(p.checksums ? { checksums: p.checksums } : {}),
    ...(p.primaryPackagePurpose ? { primaryPackagePurpose: p.primaryPackagePurpose } : {}),
    ...(p.externalRefs ? { externalRefs: p.externalRefs } : {}),
    ...(p.comment ? { comment: p.comment } : {}),
  });

  const project = pkg('Project', o.project.name, {
    versionInfo: o.project.version,
    primaryPackagePurpose: 'FIRMWARE',
    ...(o.target ? { comment: `target ${o.target}` } : {}),
  });
  const rels: SpdxRelationship[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: project.SPDXID },
  ];
  const packages: SpdxPackage[] = [project];

  if (o.idf) {
    const idf = pkg('Framework', 'esp-idf', {
      versionInfo: o.idf.version,
      downloadLocation: `git+https://github.com/espressif/esp-idf.git@v${o.idf.version}`,
      licenseDeclared: 'Apache-2.0',
      supplier: 'Organization: Espressif Systems',
      primaryPackagePurpose: 'FRAMEWORK',
      ...(o.idf.commit ? { comment: `commit ${o.idf.commit}` } : {}),
    });
    packages.push(idf);
    rels.push({ spdxElementId: project.SPDXID, relationshipType: 'DEPENDS_ON', relatedSpdxElement: idf.SPDXID });
  }
  const idfId = packages.find((p) => p.primaryPackagePurpose === 'FRAMEWORK')?.SPDXID;
  for (const c of o.components) {
    const p = pkg('Component', c.name, {
      versionInfo: c.version,
      downloadLocation: c.downloadLocation,
      licenseDeclared: c.license,
      primaryPackagePurpose: 'LIBRARY',
      ...(c.source === 'idf' ? { supplier: 'Organization: Espressif Systems' } : {}),
      comment:
        c.source === 'local'
          ? 'component in the project'
          : c.source === 'idf'
            ? 'ESP-IDF component linked into the firmware'
            : 'managed component (IDF Component Manager)',
    });
    packages.push(p);
    // An ESP-IDF component is part of ESP-IDF (which the project depends on); the others hang off the project.
    rels.push(
      c.source === 'idf' && idfId
        ? { spdxElementId: idfId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID }
        : {
            spdxElementId: project.SPDXID,
            relationshipType: c.source === 'local' ? 'CONTAINS' : 'DEPENDS_ON',
            relatedSpdxElement: p.SPDXID,
          },
    );
  }
  for (const t of o.toolchain) {
    const p = pkg('Tool', t.name, {
      versionInfo: t.version,
      primaryPackagePurpose: 'APPLICATION',
      ...(t.sha256 ? { checksums: [{ algorithm: 'SHA256' as const, checksumValue: t.sha256 }] } : {}),
    });
    packages.push(p);
    rels.push({ spdxElementId: p.SPDXID, relationshipType: 'BUILD_TOOL_OF', relatedSpdxElement: project.SPDXID });
  }
  const files: SpdxFile[] = o.files.map((f) => ({
    SPDXID: newId('File', f.name),
    fileName: `./${f.name.replace(/^\.?\/+/, '')}`,
    checksums: [{ algorithm: 'SHA256', checksumValue: f.sha256 }],
    fileTypes: ['BINARY'],
    licenseConcluded: NOA,
    copyrightText: NOA,
  }));
  for (const f of files)
    rels.push({ spdxElementId: project.SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: f.SPDXID });

  const unique = o.uniqueId ?? globalThis.crypto.randomUUID();
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${o.project.name}-sbom`,
    documentNamespace: `https://spdx.aegis.invalid/${encodeURIComponent(o.project.name)}/${encodeURIComponent(unique)}`,
    creationInfo: {
      created: o.created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: ${o.creator}`],
    },
    documentDescribes: [project.SPDXID],
    packages,
    files,
    relationships: rels,
  };
}

/** The compiler a target's ESP-IDF toolchain uses, by architecture (when the exact store tool is not known). */
export function toolchainName(architecture: 'xtensa' | 'riscv'): string {
  return architecture === 'xtensa' ? 'xtensa-esp-elf' : 'riscv32-esp-elf';
}
