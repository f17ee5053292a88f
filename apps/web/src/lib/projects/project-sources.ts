import { PROJECT_NAME_PATTERN, renderProjectTemplate, type TemplateName } from '@aegis/esp';
import type { Target } from '@aegis/protocol';
import { readPickedFiles, toProjectFiles } from '../project/project-files';
import { unzip } from '../project/unzip';
import { ProjectError, type ProjectFile } from './types';

/** The files of a new project from one of the shared ESP-IDF templates (project(<name>), main/<name>.c). */
export function templateProjectFiles(template: TemplateName, name: string, target: Target): ProjectFile[] {
  const enc = new TextEncoder();
  try {
    return Object.entries(renderProjectTemplate(template, { name, target })).map(([path, text]) => ({
      path,
      data: enc.encode(text),
    }));
  } catch (e) {
    throw new ProjectError('bad_name', (e as Error).message);
  }
}

/** A picked folder or zip as project files (top folder dropped, build output skipped). */
export async function uploadedProjectFiles(list: FileList, kind: 'folder' | 'zip'): Promise<ProjectFile[]> {
  const raw = kind === 'zip' ? await unzip(new Uint8Array(await list[0].arrayBuffer())) : await readPickedFiles(list);
  return toProjectFiles(raw);
}

/** The name an uploaded project gives itself: `project(<name>)` in its top CMakeLists.txt, else `fallback`. */
export function projectNameOf(files: ProjectFile[], fallback: string): string {
  const top = files.find((f) => f.path === 'CMakeLists.txt');
  const m = top && /^\s*project\s*\(\s*([A-Za-z0-9_.-]+)/m.exec(new TextDecoder().decode(top.data));
  return m?.[1] ?? fallback;
}

export const isTemplateName = (name: string) => PROJECT_NAME_PATTERN.test(name);
