import { lstat, readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../store/sha256-file.js';

/** path (relative to the project) → content hash and the mtime it had when the cached build used it. */
export type SourceStamps = Record<string, { sha256: string; mtimeMs: number }>;

const SKIP = new Set(['build', '.git']);

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (dir === root && SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(root, p, out);
    else if (e.isFile()) out.push(path.relative(root, p));
  }
}

/** Content hash and mtime of every regular file of the project (not build/, not .git/, no symlinks followed). */
export async function stampSources(projectDir: string): Promise<SourceStamps> {
  const files: string[] = [];
  await walk(projectDir, projectDir, files);
  const stamps: SourceStamps = {};
  for (const rel of files) {
    const p = path.join(projectDir, rel);
    const st = await lstat(p);
    stamps[rel] = { sha256: await sha256File(p), mtimeMs: st.mtimeMs };
  }
  return stamps;
}

/**
 * Makes mtimes tell ninja the truth about a fresh upload: a file whose content equals what the cached build
 * compiled gets that build's mtime back (so it is not rebuilt); every other file gets "now" (so it is).
 * Without this, the upload's own mtimes decide, and an older-looking changed file would be skipped.
 */
export async function applySourceStamps(projectDir: string, stamps: SourceStamps, nowMs: number): Promise<void> {
  const files: string[] = [];
  await walk(projectDir, projectDir, files);
  const now = new Date(nowMs);
  for (const rel of files) {
    const p = path.join(projectDir, rel);
    const known = stamps[rel];
    if (known && (await sha256File(p)) === known.sha256) {
      const t = new Date(known.mtimeMs);
      await utimes(p, t, t);
    } else {
      await utimes(p, now, now);
    }
  }
}
