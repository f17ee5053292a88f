import { posix } from 'node:path';
import { list, type ReadEntry } from 'tar';
import { UnpackRefused, workspaceOpsOf, type WorkspaceOps } from '../workspace/index.js';

export interface UntarLimits {
  maxFiles: number;
  maxUnpackedBytes: number;
}

export const DEFAULT_UNTAR_LIMITS: UntarLimits = { maxFiles: 20_000, maxUnpackedBytes: 512 * 1024 * 1024 };

export class UnsafeArchiveError extends Error {
  readonly code = 'unsafe_archive';
}

/** Plain files and directories only; every other type (links, devices, FIFOs) is refused. */
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
/** Metadata entries tar itself consumes (pax/GNU long names); they never land on disk. */
const META_TYPES = new Set([
  'ExtendedHeader',
  'GlobalExtendedHeader',
  'NextFileHasLongPath',
  'NextFileHasLongLinkpath',
  'OldGnuLongPath',
]);

/** Why an entry path is unsafe, or undefined when it stays inside the project directory. */
export function unsafePathReason(p: string): string | undefined {
  if (!p || p.includes('\0')) return 'an empty or NUL-containing path';
  if (p.includes('\\')) return `a backslash in "${p}"`;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return `the absolute path "${p}"`;
  if (p.split('/').includes('..')) return `the path "${p}" that climbs out with ".."`;
  const norm = posix.normalize(p);
  if (norm.startsWith('../') || norm === '..') return `the path "${p}" that leaves the project`;
  return undefined;
}

function checkEntry(e: ReadEntry): string | undefined {
  if (META_TYPES.has(e.type)) return undefined;
  if (!ALLOWED_TYPES.has(e.type)) return `a ${e.type} entry "${e.path}" (only plain files and directories are allowed)`;
  return unsafePathReason(e.path);
}

/**
 * Checks a whole upload archive (paths, entry types, count, size) without unpacking it. The archive is the
 * machine's own file outside any workspace, so reading it with the machine's rights is safe.
 */
export async function checkArchive(tarPath: string, limits: UntarLimits): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  let problem: string | undefined;
  await list({
    file: tarPath,
    strict: true,
    onReadEntry: (e) => {
      if (problem) return;
      problem = checkEntry(e);
      if (!problem && e.type !== 'Directory' && !META_TYPES.has(e.type)) {
        files++;
        bytes += e.size ?? 0;
        if (files > limits.maxFiles) problem = `more than ${limits.maxFiles} files`;
        else if (bytes > limits.maxUnpackedBytes) problem = `more than ${limits.maxUnpackedBytes} unpacked bytes`;
      }
    },
  }).catch((err: Error) => {
    problem ??= `a damaged archive (${err.message})`;
  });
  if (problem) throw new UnsafeArchiveError(`The project archive was refused: it contains ${problem}.`);
  return { files, bytes };
}

/**
 * Unpacks an upload into `<workspaceDir>/project`, all or nothing: the archive is checked first, then the
 * workspace's owner unpacks it in the job's sandbox (WorkspaceOps.unpack) into a fresh directory that replaces
 * the old project only on success. The machine never extracts into, or deletes in, the workspace itself.
 * Without `ops` (unit tests) the unconfined operations are used.
 */
export async function safeUntar(
  tarPath: string,
  workspaceDir: string,
  limits: UntarLimits = DEFAULT_UNTAR_LIMITS,
  ops: WorkspaceOps = workspaceOpsOf({}),
): Promise<{ files: number; bytes: number }> {
  const counted = await checkArchive(tarPath, limits);
  try {
    await ops.unpack(workspaceDir, tarPath, limits);
  } catch (err) {
    if (err instanceof UnpackRefused) throw new UnsafeArchiveError(err.message);
    throw err;
  }
  return counted;
}
