import type { BuildOptions } from '../build/live-build';

/** Where a project's first files came from (shown in the list; a template's files are the libs/esp ones). */
export type ProjectOrigin = { kind: 'template'; template: string } | { kind: 'folder' | 'zip'; fileName?: string };

/** A project kept in this browser (IndexedDB); the control API never sees it. */
export interface Project {
  id: string;
  name: string;
  origin: ProjectOrigin;
  /** The options its builds start with (target, IDF version, profile). */
  options: Pick<BuildOptions, 'target' | 'idf_version' | 'profile'>;
  createdAt: number;
  updatedAt: number;
}

/** One file of a project: bytes as uploaded or edited (text files are UTF-8). */
export interface ProjectFile {
  path: string;
  data: Uint8Array;
  mode?: number;
}

/** A build started from a project: which job, when, with what options. Its sources are kept separately. */
export interface ProjectBuild {
  jobId: string;
  projectId: string;
  /** The project's name when the build started (shown if the project was deleted since). */
  projectName: string;
  startedAt: number;
  options: BuildOptions;
}

export class ProjectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
