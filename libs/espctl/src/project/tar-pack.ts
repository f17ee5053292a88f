import { createHash } from 'node:crypto';
import { EspctlError } from '../errors.js';
import type { ProjectFiles } from '../config/project-files.js';
import { EspFormatError, writeTar } from '@aegis/esp';
import { MAX_UPLOAD_BYTES } from '@aegis/protocol';

export interface PackedProject {
  tar: Uint8Array;
  sha256: string;
  files: number;
}

/** Pack a project for upload (build/ and dot-directories are skipped by `list()`). */
export async function packProject(project: ProjectFiles, paths?: string[]): Promise<PackedProject> {
  const list = paths ?? (await project.list());
  const entries: Array<{ path: string; data: Uint8Array }> = [];
  let total = 0;
  for (const p of list) {
    const data = await project.readBytes(p);
    if (!data) continue;
    total += data.length;
    if (total > MAX_UPLOAD_BYTES) {
      throw new EspctlError(
        'project_too_large',
        `The project is over ${MAX_UPLOAD_BYTES} bytes; remove build outputs or large files.`,
      );
    }
    entries.push({ path: p, data });
  }
  let tar: Uint8Array;
  try {
    tar = writeTar(entries); // libs/esp's tar writer (regular files, mode 0644, mtime 0: reproducible)
  } catch (err) {
    if (err instanceof EspFormatError) throw new EspctlError('bad_project_path', err.message);
    throw err;
  }
  return { tar, sha256: createHash('sha256').update(tar).digest('hex'), files: entries.length };
}
