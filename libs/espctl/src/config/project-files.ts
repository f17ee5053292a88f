import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EspctlError } from '../errors.js';

/** Inline projects (over HTTP) are capped so one request cannot fill the server's memory. */
export const INLINE_MAX_FILES = 2000;
export const INLINE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A project's files, wherever they live: a directory on this machine (stdio) or a map sent inline (HTTP).
 * Paths are POSIX, relative to the project root, never escaping it.
 */
export interface ProjectFiles {
  readonly kind: 'disk' | 'inline';
  /** Shown to the user; the directory, or "(inline project)". */
  readonly label: string;
  read(rel: string): Promise<string | undefined>;
  readBytes(rel: string): Promise<Uint8Array | undefined>;
  write(rel: string, content: string): Promise<void>;
  exists(rel: string): Promise<boolean>;
  /** Every file path (relative, POSIX), skipping `build/` and dot-directories except dotfiles at the root. */
  list(): Promise<string[]>;
}

/** Reject absolute paths, `..`, backslashes and NULs: a project path must stay inside the project. */
export function checkRelPath(rel: string): string {
  const norm = path.posix.normalize(rel.replace(/^\.\//, ''));
  if (
    rel.length === 0 ||
    rel.length > 512 ||
    rel.includes('\0') ||
    rel.includes('\\') ||
    path.posix.isAbsolute(rel) ||
    norm === '..' ||
    norm.startsWith('../') ||
    norm === '.'
  ) {
    throw new EspctlError('path_invalid', `Path "${rel}" must be relative to the project and stay inside it.`);
  }
  return norm;
}

export class DiskProject implements ProjectFiles {
  readonly kind = 'disk' as const;
  constructor(readonly root: string) {}
  get label(): string {
    return this.root;
  }
  private abs(rel: string): string {
    return path.join(this.root, checkRelPath(rel));
  }
  async read(rel: string): Promise<string | undefined> {
    try {
      return await readFile(this.abs(rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  async readBytes(rel: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.abs(rel)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  async write(rel: string, content: string): Promise<void> {
    const p = this.abs(rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
  }
  async exists(rel: string): Promise<boolean> {
    try {
      await stat(this.abs(rel));
      return true;
    } catch {
      return false;
    }
  }
  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (e.name.startsWith('.') || (rel === '' && e.name === 'build') || e.name === 'node_modules') continue;
          await walk(path.join(dir, e.name), r);
        } else if (e.isFile()) {
          out.push(r);
        }
      }
    };
    await walk(this.root, '');
    return out;
  }
}

export class InlineProject implements ProjectFiles {
  readonly kind = 'inline' as const;
  readonly label = '(inline project)';
  private readonly files = new Map<string, string>();
  /** Files written by tools, returned to the caller who owns the real disk. */
  readonly changed = new Map<string, string>();

  constructor(files: Record<string, string> = {}) {
    const entries = Object.entries(files);
    if (entries.length > INLINE_MAX_FILES) {
      throw new EspctlError(
        'project_too_large',
        `The inline project has ${entries.length} files; at most ${INLINE_MAX_FILES} are accepted.`,
      );
    }
    let bytes = 0;
    for (const [rel, content] of entries) {
      bytes += Buffer.byteLength(content);
      this.files.set(checkRelPath(rel), content);
    }
    if (bytes > INLINE_MAX_BYTES) {
      throw new EspctlError(
        'project_too_large',
        `The inline project is ${bytes} bytes; at most ${INLINE_MAX_BYTES} are accepted.`,
      );
    }
  }
  async read(rel: string): Promise<string | undefined> {
    return this.files.get(checkRelPath(rel));
  }
  async readBytes(rel: string): Promise<Uint8Array | undefined> {
    const s = this.files.get(checkRelPath(rel));
    return s === undefined ? undefined : new Uint8Array(Buffer.from(s));
  }
  async write(rel: string, content: string): Promise<void> {
    const p = checkRelPath(rel);
    this.files.set(p, content);
    this.changed.set(p, content);
  }
  async exists(rel: string): Promise<boolean> {
    const p = checkRelPath(rel);
    if (this.files.has(p)) return true;
    return [...this.files.keys()].some((k) => k.startsWith(p + '/'));
  }
  async list(): Promise<string[]> {
    return [...this.files.keys()].filter((k) => !k.startsWith('build/')).sort();
  }
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.files);
  }
}
