import { z } from 'zod';

/**
 * The subset of SPDX 2.3 JSON that Aegis emits for `sbom.create` and a build's `sbom.json`
 * (https://spdx.github.io/spdx-spec/v2.3/). Unknown values are the SPDX literal `NOASSERTION`, never left out.
 */
export const SPDX_NOASSERTION = 'NOASSERTION';

/** `SPDXRef-` followed by letters, digits, `.` and `-` (SPDX 2.3 §3.2). */
export const SpdxId = z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/, 'an SPDX id is SPDXRef- then [A-Za-z0-9.-]');

export const SpdxChecksum = z.object({
  algorithm: z.literal('SHA256'),
  checksumValue: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SpdxChecksum = z.infer<typeof SpdxChecksum>;

export const SpdxPackage = z.object({
  SPDXID: SpdxId,
  name: z.string().min(1),
  versionInfo: z.string().min(1),
  downloadLocation: z.string().min(1),
  filesAnalyzed: z.boolean(),
  checksums: z.array(SpdxChecksum).optional(),
  supplier: z.string().min(1).optional(),
  licenseConcluded: z.string().min(1),
  licenseDeclared: z.string().min(1),
  copyrightText: z.string().min(1),
  primaryPackagePurpose: z
    .enum(['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'FIRMWARE', 'FILE', 'SOURCE', 'INSTALL', 'OTHER'])
    .optional(),
  externalRefs: z
    .array(
      z.object({
        referenceCategory: z.enum(['PACKAGE-MANAGER', 'SECURITY', 'PERSISTENT-ID', 'OTHER']),
        referenceType: z.string().min(1),
        referenceLocator: z.string().min(1),
      }),
    )
    .optional(),
  comment: z.string().optional(),
});
export type SpdxPackage = z.infer<typeof SpdxPackage>;

export const SpdxFile = z.object({
  SPDXID: SpdxId,
  fileName: z.string().regex(/^\.\//, 'an SPDX file name starts with ./'),
  checksums: z.array(SpdxChecksum).min(1),
  fileTypes: z.array(z.enum(['BINARY', 'OTHER', 'TEXT', 'DOCUMENTATION'])).optional(),
  licenseConcluded: z.string().min(1),
  copyrightText: z.string().min(1),
});
export type SpdxFile = z.infer<typeof SpdxFile>;

export const SpdxRelationship = z.object({
  spdxElementId: SpdxId,
  relationshipType: z.enum(['DESCRIBES', 'CONTAINS', 'DEPENDS_ON', 'GENERATED_FROM', 'BUILD_TOOL_OF']),
  relatedSpdxElement: SpdxId,
});
export type SpdxRelationship = z.infer<typeof SpdxRelationship>;

export const SpdxDocument = z
  .object({
    spdxVersion: z.literal('SPDX-2.3'),
    dataLicense: z.literal('CC0-1.0'),
    SPDXID: z.literal('SPDXRef-DOCUMENT'),
    name: z.string().min(1),
    documentNamespace: z.url().refine((u) => !u.includes('#'), 'an SPDX namespace has no #'),
    creationInfo: z.object({
      // SPDX wants UTC to the second: 2026-01-02T03:04:05Z.
      created: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      creators: z.array(z.string().regex(/^(Tool|Organization|Person): .+/)).min(1),
    }),
    documentDescribes: z.array(SpdxId).optional(),
    packages: z.array(SpdxPackage).min(1),
    files: z.array(SpdxFile).default([]),
    relationships: z.array(SpdxRelationship).min(1),
  })
  .superRefine((d, ctx) => {
    const ids = new Set<string>(['SPDXRef-DOCUMENT']);
    for (const e of [...d.packages, ...d.files]) {
      if (ids.has(e.SPDXID)) ctx.addIssue({ code: 'custom', message: `duplicate SPDXID ${e.SPDXID}` });
      ids.add(e.SPDXID);
    }
    for (const r of d.relationships)
      for (const id of [r.spdxElementId, r.relatedSpdxElement])
        if (!ids.has(id)) ctx.addIssue({ code: 'custom', message: `relationship names unknown element ${id}` });
    if (!d.relationships.some((r) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES'))
      ctx.addIssue({ code: 'custom', message: 'the document DESCRIBES no package' });
  });
export type SpdxDocument = z.infer<typeof SpdxDocument>;
