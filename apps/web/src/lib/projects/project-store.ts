import { normalizeTarPath } from '@aegis/esp';
import { finished, openProjectDb, request } from './idb';
import { ProjectError, type Project, type ProjectBuild, type ProjectFile, type ProjectOrigin } from './types';

/** The same limit the upload has: a project is sent whole to the build machine. */
export const MAX_PROJECT_BYTES = 64 * 1024 * 1024;
/** Sources are kept for this many of a project's latest builds (the diff needs only the last one). */
export const KEEP_SOURCES = 5;

export interface NewProject {
  name: string;
  origin: ProjectOrigin;
  options?: Project['options'];
  files: ProjectFile[];
}

interface FileRow extends ProjectFile {
  projectId: string;
}
interface SourcesRow {
  jobId: string;
  projectId: string;
  startedAt: number;
  files: ProjectFile[];
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n) throw new ProjectError('bad_name', 'Give the project a name.');
  if (n.length > 80) throw new ProjectError('bad_name', 'The project name is longer than 80 characters; shorten it.');
  return n;
}

/** A file path as the project keeps it (relative, `/`-separated), or a clear error when it leaves the project. */
export function projectPath(path: string): string {
  try {
    return normalizeTarPath(path.trim());
  } catch (e) {
    throw new ProjectError('bad_path', (e as Error).message);
  }
}

const byPath = (a: ProjectFile, b: ProjectFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
const plain = (f: ProjectFile): ProjectFile => ({ path: f.path, data: f.data, ...(f.mode ? { mode: f.mode } : {}) });

/**
 * Projects kept in this browser's IndexedDB: their files, and for each build started from one the job id and the
 * files it was built from (for "changes since the last build" and the project name in the build history).
 * Nothing here goes to the control API.
 */
export class ProjectStore {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly factory: () => IDBFactory = () => globalThis.indexedDB,
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = () => crypto.randomUUID(),
  ) {}

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      const f = this.factory();
      if (!f)
        throw new ProjectError(
          'no_storage',
          'This browser does not offer IndexedDB (a private window may block it); projects cannot be kept here.',
        );
      this.db = openProjectDb(f);
      this.db.catch(() => (this.db = null));
    }
    return this.db;
  }

  private async tx(stores: string[], mode: IDBTransactionMode = 'readonly') {
    return (await this.open()).transaction(stores, mode);
  }

  async list(): Promise<Project[]> {
    const tx = await this.tx(['projects']);
    const all = await request<Project[]>(tx.objectStore('projects').getAll());
    return all.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  async get(id: string): Promise<Project | undefined> {
    const tx = await this.tx(['projects']);
    return request<Project | undefined>(tx.objectStore('projects').get(id));
  }

  private async mustGet(id: string): Promise<Project> {
    const p = await this.get(id);
    if (!p)
      throw new ProjectError(
        'not_found',
        'This project is not in this browser (it was deleted, or made in another browser).',
      );
    return p;
  }

  async create(input: NewProject): Promise<Project> {
    const name = checkName(input.name);
    const seen = new Set<string>();
    let total = 0;
    const files = input.files.map((f) => {
      const path = projectPath(f.path);
      if (seen.has(path)) throw new ProjectError('bad_path', `"${path}" is in the project twice.`);
      seen.add(path);
      total += f.data.length;
      return { ...plain(f), path };
    });
    if (total > MAX_PROJECT_BYTES)
      throw new ProjectError(
        'too_large',
        'The project is larger than the 64 MiB upload limit; leave out build outputs.',
      );
    if (!seen.has('CMakeLists.txt'))
      throw new ProjectError(
        'not_a_project',
        'This does not look like an ESP-IDF project: there is no CMakeLists.txt at its top.',
      );
    const t = this.now();
    const project: Project = {
      id: this.newId(),
      name,
      origin: input.origin,
      options: input.options ?? {},
      createdAt: t,
      updatedAt: t,
    };
    const tx = await this.tx(['projects', 'files'], 'readwrite');
    tx.objectStore('projects').add(project);
    const fs = tx.objectStore('files');
    for (const f of files) fs.add({ ...f, projectId: project.id } satisfies FileRow);
    await finished(tx);
    return project;
  }

  /** Renames it or changes its build options. */
  async update(id: string, patch: Partial<Pick<Project, 'name' | 'options'>>): Promise<Project> {
    const p = await this.mustGet(id);
    const next: Project = {
      ...p,
      ...(patch.name !== undefined ? { name: checkName(patch.name) } : {}),
      ...(patch.options ? { options: patch.options } : {}),
      updatedAt: this.now(),
    };
    const tx = await this.tx(['projects'], 'readwrite');
    tx.objectStore('projects').put(next);
    await finished(tx);
    return next;
  }

  async files(id: string): Promise<ProjectFile[]> {
    const tx = await this.tx(['files']);
    const rows = await request<FileRow[]>(tx.objectStore('files').index('byProject').getAll(id));
    return rows.map(plain).sort(byPath);
  }

  /** Writes (or adds) one file; the project counts as changed now. */
  async writeFile(id: string, path: string, data: Uint8Array): Promise<void> {
    const p = await this.mustGet(id);
    const clean = projectPath(path);
    const tx = await this.tx(['projects', 'files'], 'readwrite');
    const fs = tx.objectStore('files');
    const old = await request<FileRow | undefined>(fs.get([id, clean]));
    fs.put({ projectId: id, path: clean, data, ...(old?.mode ? { mode: old.mode } : {}) } satisfies FileRow);
    tx.objectStore('projects').put({ ...p, updatedAt: this.now() });
    await finished(tx);
  }

  async deleteFile(id: string, path: string): Promise<void> {
    const p = await this.mustGet(id);
    const clean = projectPath(path);
    if (clean === 'CMakeLists.txt')
      throw new ProjectError(
        'keep_cmakelists',
        'CMakeLists.txt is what makes this an ESP-IDF project; edit it instead.',
      );
    const tx = await this.tx(['projects', 'files'], 'readwrite');
    tx.objectStore('files').delete([id, clean]);
    tx.objectStore('projects').put({ ...p, updatedAt: this.now() });
    await finished(tx);
  }

  /**
   * Deletes the project, its files and the sources of its builds. The build records stay, so the history still
   * names the project its builds came from.
   */
  async remove(id: string): Promise<void> {
    const tx = await this.tx(['projects', 'files', 'sources'], 'readwrite');
    tx.objectStore('projects').delete(id);
    for (const name of ['files', 'sources']) {
      const store = tx.objectStore(name);
      for (const key of await request(store.index('byProject').getAllKeys(id))) store.delete(key);
    }
    await finished(tx);
  }

  /** Remembers a build started from the project with the files it was started with. */
  async recordBuild(build: ProjectBuild, sources: ProjectFile[]): Promise<void> {
    const tx = await this.tx(['builds', 'sources'], 'readwrite');
    tx.objectStore('builds').put(build);
    const src = tx.objectStore('sources');
    src.put({
      jobId: build.jobId,
      projectId: build.projectId,
      startedAt: build.startedAt,
      files: sources.map(plain),
    } satisfies SourcesRow);
    // Only the latest few builds keep their sources; the rest would only fill the browser's quota.
    const kept = await request<SourcesRow[]>(src.index('byProject').getAll(build.projectId));
    kept
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(KEEP_SOURCES)
      .forEach((r) => src.delete(r.jobId));
    await finished(tx);
  }

  /** The project's builds, newest first. */
  async builds(projectId: string): Promise<ProjectBuild[]> {
    const tx = await this.tx(['builds']);
    const rows = await request<ProjectBuild[]>(tx.objectStore('builds').index('byProject').getAll(projectId));
    return rows.sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Every build started from a project in this browser, by job id (for the build history). */
  async buildsByJob(): Promise<Map<string, ProjectBuild>> {
    const tx = await this.tx(['builds']);
    const rows = await request<ProjectBuild[]>(tx.objectStore('builds').getAll());
    return new Map(rows.map((b) => [b.jobId, b]));
  }

  async buildOfJob(jobId: string): Promise<ProjectBuild | undefined> {
    const tx = await this.tx(['builds']);
    return request<ProjectBuild | undefined>(tx.objectStore('builds').get(jobId));
  }

  /** The files the project's latest build was started with, or null before its first build. */
  async lastBuildSources(
    projectId: string,
  ): Promise<{ jobId: string; startedAt: number; files: ProjectFile[] } | null> {
    const tx = await this.tx(['sources']);
    const rows = await request<SourcesRow[]>(tx.objectStore('sources').index('byProject').getAll(projectId));
    const last = rows.sort((a, b) => b.startedAt - a.startedAt)[0];
    return last ? { jobId: last.jobId, startedAt: last.startedAt, files: last.files.map(plain).sort(byPath) } : null;
  }
}

/** The one store of this tab. */
export const projectStore = new ProjectStore();
