import type { Artifact, FlashBundleManifest, StoreIdfVersion } from '@aegis/protocol';

/**
 * CycloneDX 1.5 SBOM of a build: the firmware, the ESP-IDF release (or the test toolchain) with its commit, every
 * store tool that built it (by sha256), the ESP-IDF components the build used, and every artifact.
 */
export function makeBuildSbom(o: {
  jobId: string;
  manifest: FlashBundleManifest;
  version: StoreIdfVersion;
  components: string[];
  artifacts: Artifact[];
  now: Date;
}): Record<string, unknown> {
  const idf = o.version.test_toolchain
    ? { type: 'framework', name: 'aegis-test-toolchain', version: o.version.version }
    : {
        type: 'framework',
        name: 'esp-idf',
        version: o.version.version,
        purl: `pkg:github/espressif/esp-idf@v${o.version.version}`,
        ...(o.version.commit ? { properties: [{ name: 'git:commit', value: o.version.commit }] } : {}),
      };
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: o.now.toISOString(),
      component: {
        type: 'firmware',
        name: o.manifest.project,
        ...(o.manifest.app_version ? { version: o.manifest.app_version } : {}),
        properties: [
          { name: 'aegis:job_id', value: o.jobId },
          { name: 'aegis:target', value: o.manifest.chip },
        ],
      },
    },
    components: [
      idf,
      ...o.version.tools.map((t) => ({
        type: 'application',
        name: t.name,
        hashes: [{ alg: 'SHA-256', content: t.sha256 }],
        properties: [{ name: 'aegis:role', value: 'toolchain' }],
      })),
      ...o.components.map((c) => ({
        type: 'library',
        name: c,
        version: o.version.version,
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
