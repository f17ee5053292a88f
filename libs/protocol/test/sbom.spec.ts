import { describe, expect, it } from 'vitest';
import { SpdxDocument } from '../src/index.js';

const valid = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'demo-sbom',
  documentNamespace: 'https://spdx.aegis.invalid/demo/1',
  creationInfo: { created: '2026-01-02T03:04:05Z', creators: ['Tool: aegis-machine-0.1.0'] },
  packages: [
    {
      SPDXID: 'SPDXRef-Project-demo',
      name: 'demo',
      versionInfo: '1.0',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
    },
  ],
  files: [
    {
      SPDXID: 'SPDXRef-File-app.bin',
      fileName: './app.bin',
      checksums: [{ algorithm: 'SHA256', checksumValue: 'a'.repeat(64) }],
      licenseConcluded: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
    },
  ],
  relationships: [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Project-demo' },
    { spdxElementId: 'SPDXRef-Project-demo', relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-File-app.bin' },
  ],
};

describe('SpdxDocument schema', () => {
  it('accepts the SPDX 2.3 subset Aegis emits', () => {
    expect(SpdxDocument.parse(valid)).toEqual(valid);
  });

  it('rejects CycloneDX, a bad version, dangling relationships, duplicate ids and bad checksums', () => {
    const bad = (d: unknown) => SpdxDocument.safeParse(d).success;
    expect(bad({ bomFormat: 'CycloneDX', specVersion: '1.5' })).toBe(false);
    expect(bad({ ...valid, spdxVersion: 'SPDX-2.2' })).toBe(false);
    expect(bad({ ...valid, documentNamespace: 'https://x.invalid/a#b' })).toBe(false);
    expect(bad({ ...valid, creationInfo: { ...valid.creationInfo, created: '2026-01-02T03:04:05.123Z' } })).toBe(false);
    expect(
      bad({
        ...valid,
        relationships: [
          ...valid.relationships,
          { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-None' },
        ],
      }),
    ).toBe(false);
    expect(bad({ ...valid, packages: [...valid.packages, valid.packages[0]] })).toBe(false);
    expect(bad({ ...valid, relationships: valid.relationships.slice(1) })).toBe(false);
    expect(
      bad({ ...valid, files: [{ ...valid.files[0], checksums: [{ algorithm: 'SHA256', checksumValue: 'xyz' }] }] }),
    ).toBe(false);
  });
});
