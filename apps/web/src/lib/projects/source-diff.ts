import { structuredPatch } from 'diff';
import type { ProjectFile } from './types';

export type ChangeStatus = 'added' | 'modified' | 'removed';

export interface FileChange {
  path: string;
  status: ChangeStatus;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Which files differ between two versions of a project (by path), sorted by path. */
export function changedFiles(before: ProjectFile[], after: ProjectFile[]): FileChange[] {
  const old = new Map(before.map((f) => [f.path, f.data]));
  const out: FileChange[] = [];
  for (const f of after) {
    const o = old.get(f.path);
    if (!o) out.push({ path: f.path, status: 'added' });
    else if (!sameBytes(o, f.data)) out.push({ path: f.path, status: 'modified' });
    old.delete(f.path);
  }
  for (const path of old.keys()) out.push({ path, status: 'removed' });
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** The file as text, or null when it is binary (a NUL byte or invalid UTF-8). */
export function textOf(data: Uint8Array): string | null {
  if (data.includes(0)) return null;
  try {
    return strict.decode(data);
  } catch {
    return null;
  }
}

export interface DiffLine {
  kind: 'context' | 'add' | 'del';
  text: string;
  /** Line number in the old file (context and deleted lines). */
  oldNo?: number;
  /** Line number in the new file (context and added lines). */
  newNo?: number;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

/** A line diff of two texts as unified hunks with `context` unchanged lines around each change. */
export function lineDiff(before: string, after: string, context = 3): DiffHunk[] {
  const patch = structuredPatch('a', 'b', before, after, '', '', { context });
  return patch.hunks.map((h) => {
    let o = h.oldStart;
    let n = h.newStart;
    const lines: DiffLine[] = [];
    for (const raw of h.lines) {
      const mark = raw[0];
      const text = raw.slice(1);
      if (mark === '+') lines.push({ kind: 'add', text, newNo: n++ });
      else if (mark === '-') lines.push({ kind: 'del', text, oldNo: o++ });
      else if (mark === ' ') lines.push({ kind: 'context', text, oldNo: o++, newNo: n++ });
      // '\' (no newline at end of file) is a note, not a line
    }
    return { header: `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, lines };
  });
}
