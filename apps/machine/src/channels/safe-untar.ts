import { mkdir, rename, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { extract, list, type ReadEntry } from 'tar';

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
 * Unpacks a tar into `<workspaceDir>/project`, all or nothing: the whole archive is checked first (paths, entry
 * types, count, size), then extracted into a fresh directory that replaces the old project only on success.
 * Returns the number of files and bytes unpacked.
 */
export async function safeUntar(
  tarPath: string,
  workspaceDir: string,
  limits: UntarLimits = DEFAULT_UNTAR_LIMITS,
): Promise<{ files: number; bytes: number }> {
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

  const fresh = posix.join(workspaceDir, `.project-${process.pid}-${Date.now()}`);
  const project = posix.join(workspaceDir, 'project');
  await mkdir(fresh, { recursive: false });
  try {
    await extract({
      file: tarPath,
      cwd: fresh,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      noChmod: false,
      // Belt and braces: the same checks again while extracting.
      filter: (_p, e) => !checkEntry(e as ReadEntry),
    });
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw new UnsafeArchiveError(`The project archive could not be unpacked: ${(err as Error).message}.`);
  }
  await rm(project, { recursive: true, force: true });
  await rename(fresh, project);
  return { files, bytes };
}
