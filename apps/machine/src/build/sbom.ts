import type { Artifact, FlashBundleManifest, StoreIdfVersion } from '@aegis/protocol';

export interface SbomInput {
  jobId: string;
  /** The bundle manifest: names the firmware, its version and target. */
  manifest?: FlashBundleManifest;
  /** The store's ESP-IDF entry that built it (commit, tools by sha256), when known. */
  version?: StoreIdfVersion;
  /** Only the ESP-IDF version, when the store entry is not at hand. */
  idfVersion?: string;
  /** The target, when there is no manifest. */
  target?: string;
  /** ESP-IDF components the build used. */
  components?: string[];
  artifacts: Artifact[];
  now?: Date;
}

/**
 * CycloneDX 1.5 SBOM of a build, from what the machine knows for certain: the firmware, the ESP-IDF release (or
 * the test toolchain) with its commit, every store tool that built it (by sha256), the ESP-IDF components the
 * build used, and every artifact with its sha256.
 */
export function makeSbom(o: SbomInput): Record<string, unknown> {
  const target = o.manifest?.chip ?? o.target;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: (o.now ?? new Date()).toISOString(),
      component: {
        type: 'firmware',
        name: o.manifest?.project ?? `job-${o.jobId}`,
        ...(o.manifest?.app_version ? { version: o.manifest.app_version } : {}),
        properties: [
          { name: 'aegis:job_id', value: o.jobId },
          ...(target ? [{ name: 'aegis:target', value: target }] : []),
        ],
      },
    },
    components: [
      ...framework(o),
      ...(o.version?.tools ?? []).map((t) => ({
        type: 'application',
        name: t.name,
        hashes: [{ alg: 'SHA-256', content: t.sha256 }],
        properties: [{ name: 'aegis:role', value: 'toolchain' }],
      })),
      ...(o.components ?? []).map((c) => ({
        type: 'library',
        name: c,
        version: o.version?.version ?? o.idfVersion,
        properties: [{ name: 'aegis:role', value: 'idf-component' }],
      })),
      ...o.artifacts.map((a) => ({
        type: 'file',
        name: a.name,
        hashes: [{ alg: 'SHA-256', content: a.sha256 }],
        properties: [
          { name: 'aegis:kind', value: a.kind },
          { name: 'aegis:size', value: String(a.size) },
        ],
      })),
    ],
  };
}

function framework(o: SbomInput): Record<string, unknown>[] {
  const v = o.version;
  if (v?.test_toolchain) return [{ type: 'framework', name: 'aegis-test-toolchain', version: v.version }];
  if (v) {
    return [
      {
        type: 'framework',
        name: 'esp-idf',
        version: v.version,
        purl: `pkg:github/espressif/esp-idf@v${v.version}`,
        ...(v.commit ? { properties: [{ name: 'git:commit', value: v.commit }] } : {}),
      },
    ];
  }
  return o.idfVersion ? [{ type: 'framework', name: 'esp-idf', version: o.idfVersion }] : [];
}
