import { z } from 'zod';
import { ErrorBody, IdfVersion, Sha256Hex, Target } from './common.js';
import { JobState } from './jobs.js';
import { FlashBundleManifest } from './manifest.js';
import { SpdxDocument } from './sbom.js';

/**
 * The `espctl` channel: JSON-RPC 2.0, one message per text frame. Binary frames carry the chunks of the
 * upload opened by `upload.begin`.
 */
export const JsonRpcId = z.union([z.string().max(64), z.number().int()]);
export const JsonRpcRequest = z.object({
  jsonrpc: z.literal('2.0'),
  id: JsonRpcId,
  method: z.string().min(1).max(64),
  params: z.unknown().optional(),
});
export const JsonRpcNotification = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(64),
  params: z.unknown().optional(),
});
export const JsonRpcError = z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() });
export const JsonRpcResponse = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId.nullable(), result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0'), id: JsonRpcId.nullable(), error: JsonRpcError }),
]);
export type JsonRpcRequest = z.infer<typeof JsonRpcRequest>;
export type JsonRpcNotification = z.infer<typeof JsonRpcNotification>;
export type JsonRpcResponse = z.infer<typeof JsonRpcResponse>;
export type JsonRpcError = z.infer<typeof JsonRpcError>;

/** Standard JSON-RPC codes plus ours (-32000…-32099 is the server range). */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  UploadRejected: -32001,
  BuildBusy: -32002,
  NotFound: -32003,
  BuildFailed: -32004,
  StoreError: -32005,
  FrameTooLarge: -32006,
} as const;

/** Largest frame either side may send on any channel (werift's default max-message-size). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest project archive a machine accepts by default. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

export const LogStream = z.enum(['stdout', 'stderr', 'system']);
export const LogLine = z.object({
  seq: z.number().int().nonnegative(),
  ts: z.number(),
  stream: LogStream,
  text: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

/**
 * Log lines travel in batches: one `log` notification carries every line written since the last one (the machine
 * waits up to ~50 ms to fill a frame), numbered without gaps. A frame's lines stay under `LOG_FRAME_BYTES` of JSON.
 */
export const LogBatch = z.object({ lines: z.array(LogLine).min(1) });
export type LogBatch = z.infer<typeof LogBatch>;
/** Most bytes of line JSON in one `log` notification or one `log.read` page: well inside MAX_FRAME_BYTES. */
export const LOG_FRAME_BYTES = 32 * 1024;
/**
 * Longest log line in UTF-16 units; longer output is cut into pieces of this size. Even a line of control
 * characters (6 bytes each as `\uXXXX` in JSON) then fits in one frame.
 */
export const MAX_LOG_LINE_CHARS = 8 * 1024;

export const BuildStatus = z.object({
  state: JobState,
  exit_code: z.number().int().optional(),
  error: ErrorBody.optional(),
  target: Target.optional(),
  idf_version: IdfVersion.optional(),
  /** seq of the next log line to be written. */
  next_seq: z.number().int().nonnegative(),
  /** This machine can run the job's firmware on the `emulator` channel (its target is emulated here). */
  emulator: z.boolean().optional(),
});
export type BuildStatus = z.infer<typeof BuildStatus>;

export const ArtifactKind = z.enum([
  'bundle-manifest',
  'bundle-signature',
  'image',
  'merged',
  'elf',
  'map',
  'report',
  'web-manifest',
]);
export const Artifact = z.object({
  name: z.string().min(1).max(255),
  size: z.number().int().nonnegative(),
  sha256: Sha256Hex,
  kind: ArtifactKind,
});
export type Artifact = z.infer<typeof Artifact>;

export const DecodedFrame = z.object({
  address: z.string(),
  function: z.string().nullable(),
  file: z.string().nullable(),
  line: z.number().int().nullable(),
});
export type DecodedFrame = z.infer<typeof DecodedFrame>;

const Empty = z.object({}).strict();

/** Which `idf.py size` report: totals, per archive (`size-components`) or per object file (`size-files`). */
export const SizeDetail = z.enum(['summary', 'components', 'files']);
export type SizeDetail = z.infer<typeof SizeDetail>;

/** Every method: params and result. Both sides validate against these. */
export const EspctlMethods = {
  'upload.begin': {
    params: z.object({ size: z.number().int().positive(), sha256: Sha256Hex, format: z.literal('tar') }).strict(),
    result: z.object({ max_chunk: z.number().int().positive() }),
  },
  'upload.end': {
    params: Empty,
    result: z.object({ files: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }),
  },
  'build.start': {
    params: z
      .object({
        target: Target.optional(),
        idf_version: IdfVersion.optional(),
        profile: z.enum(['debug', 'release']).optional(),
        clean: z.boolean().optional(),
      })
      .strict(),
    result: BuildStatus,
  },
  'build.cancel': { params: Empty, result: BuildStatus },
  'build.status': { params: Empty, result: BuildStatus },
  /** Replay by seq. A page holds at most `limit` lines and about LOG_FRAME_BYTES of them; `more` says there is more. */
  'log.read': {
    params: z
      .object({ since_seq: z.number().int().nonnegative(), limit: z.number().int().min(1).max(5000).optional() })
      .strict(),
    result: z.object({ lines: z.array(LogLine), next_seq: z.number().int().nonnegative(), more: z.boolean() }),
  },
  set_target: { params: z.object({ target: Target }).strict(), result: z.object({ target: Target }) },
  'artifacts.list': { params: Empty, result: z.object({ artifacts: z.array(Artifact) }) },
  'artifacts.manifest': { params: Empty, result: z.object({ manifest: FlashBundleManifest, jws: z.string() }) },
  /** `idf.py size` / `size-components` / `size-files` with `--format json`, as the tool printed it. */
  size: {
    params: z.object({ detail: SizeDetail.default('summary') }).strict(),
    result: z.record(z.string(), z.unknown()),
  },
  sbom: { params: Empty, result: SpdxDocument },
  diag: {
    params: Empty,
    result: z.object({ checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })) }),
  },
  decode: {
    params: z
      .object({
        addresses: z
          .array(z.string().regex(/^0x[0-9a-fA-F]{1,8}$/))
          .min(1)
          .max(256),
      })
      .strict(),
    result: z.object({ frames: z.array(DecodedFrame) }),
  },
} as const;
export type EspctlMethod = keyof typeof EspctlMethods;
export type EspctlParams<M extends EspctlMethod> = z.input<(typeof EspctlMethods)[M]['params']>;
export type EspctlResult<M extends EspctlMethod> = z.infer<(typeof EspctlMethods)[M]['result']>;

/** Notifications from the machine. `status` follows the log lines written before it (up to its `next_seq`). */
export const EspctlNotifications = {
  log: LogBatch,
  status: BuildStatus,
} as const;
