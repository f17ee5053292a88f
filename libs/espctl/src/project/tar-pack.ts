import { createHash } from 'node:crypto';
import { EspctlError } from '../errors.js';
import type { ProjectFiles } from '../config/project-files.js';
import { MAX_UPLOAD_BYTES } from '@aegis/protocol';

export interface PackedProject {
  tar: Uint8Array;
  sha256: string;
  files: number;
}

/** A POSIX ustar archive of the given files (regular files only, mode 0644, mtime 0 so it is reproducible). */
export function writeTar(entries: Array<{ path: string; data: Uint8Array }>): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const e of entries) {
    chunks.push(tarHeader(e.path, e.data.length));
    chunks.push(e.data);
    const pad = (512 - (e.data.length % 512)) % 512;
    if (pad) chunks.push(new Uint8Array(pad));
  }
  chunks.push(new Uint8Array(1024));
  return Buffer.concat(chunks);
}

function tarHeader(path: string, size: number): Uint8Array {
  const h = Buffer.alloc(512);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf('/', 155);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new EspctlError('path_too_long', `Path "${path}" is too long for the upload archive.`);
    }
  }
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  h.write('00000000000\0', 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
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
  const tar = writeTar(entries);
  return { tar, sha256: createHash('sha256').update(tar).digest('hex'), files: entries.length };
}
