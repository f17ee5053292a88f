import type { Artifact, FlashBundleManifest } from '@aegis/protocol';

/**
 * A minimal CycloneDX 1.5 SBOM of a build, from what the machine knows for certain: the project, the ESP-IDF
 * release (or test toolchain) that built it, the target, and every artifact with its sha256.
 */
export function makeSbom(o: {
  jobId: string;
  target?: string;
  idfVersion?: string;
  manifest?: FlashBundleManifest;
  artifacts: Artifact[];
  now?: Date;
}): Record<string, unknown> {
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
          ...(o.target ? [{ name: 'aegis:target', value: o.target }] : []),
        ],
      },
    },
    components: [
      ...(o.idfVersion ? [{ type: 'framework', name: 'esp-idf', version: o.idfVersion }] : []),
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
