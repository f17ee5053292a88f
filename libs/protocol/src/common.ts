import { z } from 'zod';

/** Every wire message and file format carries this version. Bump on breaking changes only. */
export const PROTOCOL_VERSION = 1 as const;
export const Version = z.literal(PROTOCOL_VERSION);

/** Chips ESP-IDF can target. The machine advertises the subset its store supports. */
export const Target = z.enum([
  'esp32',
  'esp32s2',
  'esp32s3',
  'esp32c2',
  'esp32c3',
  'esp32c5',
  'esp32c6',
  'esp32h2',
  'esp32p4',
]);
export type Target = z.infer<typeof Target>;

/** "5.3.1", "v5.3", "5.4-rc1", "test-1.0" (the test toolchain). */
export const IdfVersion = z
  .string()
  .regex(/^v?[0-9A-Za-z][0-9A-Za-z.+-]{0,39}$/, 'IDF version looks like "5.3.1" or "v5.3"');
export type IdfVersion = z.infer<typeof IdfVersion>;

/** The data channels a job may open. Anything else is closed by the machine. */
export const ChannelName = z.enum(['espctl', 'pty', 'firmware', 'emulator']);
export type ChannelName = z.infer<typeof ChannelName>;

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters');
export const Uuid = z.uuid();

/**
 * Errors are values: a stable machine-readable code and one sentence a person can act on.
 * Used in REST error bodies, signaling `error` events and job failures.
 */
export const ErrorBody = z.object({
  code: z.string().min(1),
  message: z.string().min(1),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string()).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

/** DTLS certificate fingerprint as it appears in SDP: `a=fingerprint:sha-256 AB:CD:…`. */
export const DtlsFingerprint = z.object({
  algorithm: z.enum(['sha-256', 'sha-384', 'sha-512']),
  value: z.string().regex(/^([0-9A-F]{2}:)+[0-9A-F]{2}$/, 'fingerprint is colon-separated uppercase hex'),
});
export type DtlsFingerprint = z.infer<typeof DtlsFingerprint>;
