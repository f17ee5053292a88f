import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import { FlashBundleManifest, describeZodError } from '@aegis/protocol';
import { bytesEqual, sha256Hex } from './bytes.js';
import { EspFormatError } from './errors.js';

export type SigningKey = Parameters<CompactSign['sign']>[0];

/** Sign manifest.json's exact bytes: a compact EdDSA JWS whose payload is those bytes (stored as manifest.jws). */
export async function signBundleManifest(
  manifestJsonBytes: Uint8Array,
  privateKey: SigningKey,
  kid: string,
): Promise<string> {
  return new CompactSign(manifestJsonBytes).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);
}

/**
 * Verify manifest.jws against a trusted public key, check that its payload is exactly manifest.json, and parse the
 * manifest with the protocol schema.
 */
export async function verifyBundleManifest(
  manifestJsonBytes: Uint8Array,
  jws: string,
  publicJwk: JWK,
): Promise<FlashBundleManifest> {
  let payload: Uint8Array;
  try {
    const key = await importJWK(publicJwk, 'EdDSA');
    ({ payload } = await compactVerify(jws, key, { algorithms: ['EdDSA'] }));
  } catch {
    throw new EspFormatError(
      'bad_signature',
      'The bundle signature does not verify with the machine key; do not flash it.',
    );
  }
  if (!bytesEqual(payload, manifestJsonBytes))
    throw new EspFormatError(
      'manifest_mismatch',
      'manifest.json differs from the signed manifest; the bundle was altered.',
    );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestJsonBytes));
  } catch {
    throw new EspFormatError('bad_manifest', 'manifest.json is not valid JSON.');
  }
  const parsed = FlashBundleManifest.safeParse(json);
  if (!parsed.success)
    throw new EspFormatError('bad_manifest', `manifest.json is invalid: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Check every part's file is present with the manifest's size and sha256. Throws on the first problem. */
export function verifyBundleFiles(
  manifest: FlashBundleManifest,
  files:
    ((path: string) => Uint8Array | undefined) | Readonly<Record<string, Uint8Array>> | ReadonlyMap<string, Uint8Array>,
): void {
  const get =
    typeof files === 'function'
      ? files
      : files instanceof Map
        ? (p: string) => files.get(p)
        : (p: string) => (files as Readonly<Record<string, Uint8Array>>)[p];
  for (const part of manifest.parts) {
    const bytes = get(part.file);
    if (!bytes) throw new EspFormatError('missing_file', `The bundle has no ${part.file} (part ${part.name}).`);
    if (bytes.length !== part.size)
      throw new EspFormatError(
        'size_mismatch',
        `${part.file} is ${bytes.length} bytes; the manifest says ${part.size}.`,
      );
    if (sha256Hex(bytes) !== part.sha256)
      throw new EspFormatError(
        'sha256_mismatch',
        `${part.file} does not match its sha256 in the manifest; do not flash it.`,
      );
  }
}
