import { describeZodError, FlashBundleManifest } from '@aegis/protocol';
import {
  EspFormatError,
  SECTOR_SIZE,
  verifyBundleFiles,
  verifyBundleManifest,
  type EspFormatErrorCode,
} from '@aegis/esp';
import { FlashError, type FlashErrorCode } from './errors.js';

/** A flash bundle as it arrives over the firmware channel or from disk. */
export interface FlashBundleInput {
  /** The exact bytes of manifest.json (the signature covers these). */
  manifestBytes: Uint8Array;
  /** manifest.jws: compact EdDSA JWS whose payload is manifestBytes. */
  jws?: string;
  /** Bundle-relative path (as in the manifest, e.g. `files/app.bin`) → bytes. */
  files: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>;
}

/** How the bundle's signature is checked: against the build machine's public key, or knowingly not at all. */
export type BundleTrust = { publicJwk: JsonWebKey } | { allowUnsigned: true };

export interface CheckedPart {
  name: string;
  offset: number;
  data: Uint8Array;
}

export interface CheckedBundle {
  manifest: FlashBundleManifest;
  parts: CheckedPart[];
}

const CODE_MAP: Partial<Record<EspFormatErrorCode, FlashErrorCode>> = {
  bad_signature: 'bad_signature',
  manifest_mismatch: 'bad_signature',
  bad_manifest: 'bad_manifest',
  missing_file: 'missing_file',
  size_mismatch: 'sha256_mismatch',
  sha256_mismatch: 'sha256_mismatch',
};

function refusal(e: unknown): unknown {
  if (!(e instanceof EspFormatError)) return e;
  const code = CODE_MAP[e.code] ?? 'bad_manifest';
  return new FlashError(code, `${e.message} Nothing was written.`);
}

/**
 * Everything that can be refused before the port is touched: a manifest that does not parse, a bad or
 * missing signature (libs/esp verifies the JWS over the exact manifest bytes), a file whose sha256 or size
 * differs from the manifest, parts that overlap or do not start on a 4 KiB sector.
 */
export async function checkBundle(bundle: FlashBundleInput, trust: BundleTrust): Promise<CheckedBundle> {
  let manifest: FlashBundleManifest;
  try {
    if ('publicJwk' in trust) {
      if (!bundle.jws) {
        throw new FlashError('bad_signature', 'The bundle carries no signature (manifest.jws); refusing to flash it.');
      }
      manifest = await verifyBundleManifest(
        bundle.manifestBytes,
        bundle.jws,
        trust.publicJwk as Parameters<typeof verifyBundleManifest>[2],
      );
    } else {
      manifest = parseUnsigned(bundle.manifestBytes);
    }
    verifyBundleFiles(manifest, bundle.files);
  } catch (e) {
    throw refusal(e);
  }
  const lookup = (path: string) =>
    bundle.files instanceof Map ? bundle.files.get(path)! : (bundle.files as Record<string, Uint8Array>)[path];
  const parts: CheckedPart[] = manifest.parts.map((p) => {
    if (p.offset % SECTOR_SIZE !== 0) {
      throw new FlashError(
        'unaligned_part',
        `Part ${p.name} starts at 0x${p.offset.toString(16)}, not on a 4 KiB sector boundary; writing it would erase neighbouring data. Nothing was written.`,
      );
    }
    return { name: p.name, offset: p.offset, data: lookup(p.file) };
  });
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.offset < prev.offset + prev.data.length) {
      throw new FlashError(
        'overlapping_parts',
        `Parts ${prev.name} (0x${prev.offset.toString(16)}..0x${(prev.offset + prev.data.length).toString(16)}) and ${cur.name} (at 0x${cur.offset.toString(16)}) overlap; the bundle is inconsistent. Nothing was written.`,
      );
    }
  }
  return { manifest, parts };
}

function parseUnsigned(bytes: Uint8Array): FlashBundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new FlashError('bad_manifest', 'The bundle manifest is not valid JSON; download the bundle again.');
  }
  const parsed = FlashBundleManifest.safeParse(json);
  if (!parsed.success) {
    throw new FlashError(
      'bad_manifest',
      `The bundle manifest is invalid (${describeZodError(parsed.error)}); rebuild or download it again.`,
    );
  }
  return parsed.data;
}

/** Refuse parts that end beyond the flash the board reports. */
export function checkFits(parts: CheckedPart[], flashSize: number): void {
  for (const p of parts) {
    if (p.offset + p.data.length > flashSize) {
      throw new FlashError(
        'part_beyond_flash',
        `Part ${p.name} ends at 0x${(p.offset + p.data.length).toString(16)}, beyond this board's ${flashSize / 1048576} MB flash; use a board with more flash or a smaller partition layout.`,
      );
    }
  }
}
