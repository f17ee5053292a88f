'use client';
import { Target } from '@aegis/protocol';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { CodeEditor } from '@/components/editor/code-editor';
import { LANGUAGE_LABEL, languageOf } from '@/components/editor/languages';
import { ErrorBox } from '@/components/error-box';
import { ChangesPanel } from '@/components/projects/changes-panel';
import { FileTree } from '@/components/projects/file-tree';
import { ProjectBuilds } from '@/components/projects/project-builds';
import { originLabel } from '@/components/projects/project-list';
import { formatBytes } from '@/lib/format';
import { projectPath, projectStore } from '@/lib/projects/project-store';
import { changedFiles, textOf, type ChangeStatus } from '@/lib/projects/source-diff';
import type { Project } from '@/lib/projects/types';
import {
  useInvalidateProjects,
  useLastBuildSources,
  useProject,
  useProjectBuilds,
  useProjectFiles,
  useStartProjectBuild,
} from '@/lib/projects/use-projects';
import { saveFile } from '@/lib/save-file';
import { writeTar } from '@aegis/esp';

/** Edits are written to IndexedDB this long after the last keystroke (and at once before a build). */
const SAVE_DELAY_MS = 400;

/** The first file worth opening: the app's main source, else the top CMakeLists.txt. */
function firstFile(paths: string[]): string | null {
  return (
    paths.find((p) => /^main\/[^/]+\.(c|cpp)$/.test(p)) ?? paths.find((p) => p === 'CMakeLists.txt') ?? paths[0] ?? null
  );
}

/** Edits of this page not yet in IndexedDB, written after a pause or when a build needs them. */
function usePendingSaves(projectId: string, onError: (e: unknown) => void) {
  const pending = useRef(new Map<string, Uint8Array>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [saving, setSaving] = useState(false);
  const flush = useCallback(async () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    const batch = [...pending.current];
    pending.current.clear();
    if (!batch.length) return;
    setSaving(true);
    try {
      for (const [path, data] of batch) await projectStore.writeFile(projectId, path, data);
    } catch (e) {
      onError(e);
      throw e;
    } finally {
      setSaving(pending.current.size > 0);
    }
  }, [projectId, onError]);
  const queue = useCallback(
    (path: string, data: Uint8Array) => {
      pending.current.set(path, data);
      setSaving(true);
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => void flush().catch(() => {}), SAVE_DELAY_MS);
    },
    [flush],
  );
  // Leaving the page writes what is still pending.
  useEffect(() => () => void flush().catch(() => {}), [flush]);
  return { queue, flush, saving };
}

export function ProjectWorkspace({ id }: { id: string }) {
  const router = useRouter();
  const invalidate = useInvalidateProjects();
  const startBuild = useStartProjectBuild();
  const project = useProject(id);
  const stored = useProjectFiles(id);
  const last = useLastBuildSources(id);
  const builds = useProjectBuilds(id);
  const [docs, setDocs] = useState<Map<string, Uint8Array> | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [clean, setClean] = useState(false);
  const [newPath, setNewPath] = useState('');
  const saves = usePendingSaves(id, setError);

  useEffect(() => {
    if (stored.data && !docs) {
      setDocs(new Map(stored.data.map((f) => [f.path, f.data])));
      setSelected((s) => s ?? firstFile(stored.data.map((f) => f.path)));
    }
  }, [stored.data, docs]);

  const paths = useMemo(() => [...(docs?.keys() ?? [])].sort(), [docs]);
  const changes = useMemo(
    () =>
      docs && last.data
        ? changedFiles(
            last.data.files,
            [...docs].map(([path, data]) => ({ path, data })),
          )
        : null,
    [docs, last.data],
  );
  const changeOf = useMemo(() => new Map<string, ChangeStatus>(changes?.map((c) => [c.path, c.status])), [changes]);

  const p = project.data;
  if (project.error || stored.error)
    return <ErrorBox error={project.error ?? stored.error} title="The project could not be read" />;
  if (project.data === null)
    return (
      <div className="alert warn" role="status">
        This project is not in this browser (it was deleted, or made in another browser).{' '}
        <Link href="/projects">All projects</Link>
      </div>
    );
  if (!p || !docs) return <p className="muted">Loading the project…</p>;

  const edit = (path: string, text: string) => {
    const data = new TextEncoder().encode(text);
    setDocs((d) => new Map(d).set(path, data));
    saves.queue(path, data);
  };

  const setOptions = async (options: Project['options']) => {
    try {
      await projectStore.update(id, { options });
      await invalidate();
    } catch (e) {
      setError(e);
    }
  };

  async function build() {
    setError(null);
    setBusy(true);
    try {
      await saves.flush();
    } catch (e) {
      setError(e);
      setBusy(false);
      return;
    }
    const why = await startBuild(p!, { clean });
    if (why !== null) {
      setError(why);
      setBusy(false);
    }
  }

  async function addFile() {
    setError(null);
    try {
      const path = projectPath(newPath);
      if (docs!.has(path)) throw new Error(`"${path}" is already in the project.`);
      await projectStore.writeFile(id, path, new Uint8Array());
      setDocs((d) => new Map(d).set(path, new Uint8Array()));
      setSelected(path);
      setNewPath('');
    } catch (e) {
      setError(e);
    }
  }

  async function deleteFile(path: string) {
    if (!window.confirm(`Delete ${path} from the project?`)) return;
    setError(null);
    try {
      await saves.flush();
      await projectStore.deleteFile(id, path);
      const next = new Map(docs!);
      next.delete(path);
      setDocs(next);
      setSelected(firstFile([...next.keys()].sort()));
    } catch (e) {
      setError(e);
    }
  }

  async function deleteProject() {
    if (!window.confirm(`Delete the project ${p!.name} from this browser? Its files cannot be recovered.`)) return;
    await projectStore.remove(id);
    await invalidate();
    router.push('/projects');
  }

  const current = selected && docs.has(selected) ? selected : null;
  const data = current ? docs.get(current)! : null;
  const text = data ? textOf(data) : null;
  const built = (builds.data?.length ?? 0) > 0;
  const total = [...docs.values()].reduce((n, d) => n + d.length, 0);

  return (
    <>
      <div className="row" style={{ justifyContent: 'space-between', alignItems: 'center' }}>
        <h1 data-testid="project-name">{p.name}</h1>
        <div className="row" style={{ alignItems: 'center' }}>
          <div className="field" style={{ margin: 0 }}>
            <label htmlFor="build-target" className="sr-only">
              Target
            </label>
            <select
              id="build-target"
              value={p.options.target ?? ''}
              onChange={(e) => void setOptions({ ...p.options, target: e.target.value || undefined })}
              disabled={busy}
            >
              <option value="">project default target</option>
              {Target.options.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <label className="check">
            <input type="checkbox" checked={clean} onChange={(e) => setClean(e.target.checked)} disabled={busy} />
            Clean
          </label>
          <button type="button" className="primary" onClick={() => void build()} disabled={busy}>
            {busy ? 'Starting…' : built ? 'Rebuild' : 'Build'}
          </button>
        </div>
      </div>
      <p className="small muted">
        {originLabel(p)} · {docs.size} files, {formatBytes(total)} · kept in this browser ·{' '}
        <span aria-live="polite" data-testid="save-state">
          {saves.saving ? 'saving…' : 'saved'}
        </span>
      </p>
      <ErrorBox error={error} title="That did not work" />
      <div style={{ display: 'grid', gridTemplateColumns: 'minmax(180px, 240px) minmax(0, 1fr)', gap: '1rem' }}>
        <div className="panel" style={{ overflow: 'auto' }}>
          <FileTree paths={paths} selected={current} changes={changeOf} onSelect={setSelected} />
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void addFile();
            }}
            style={{ marginTop: '0.75rem' }}
          >
            <label htmlFor="new-file" className="small muted">
              New file
            </label>
            <div className="row" style={{ gap: '0.25rem', flexWrap: 'nowrap' }}>
              <input
                id="new-file"
                className="mono small"
                placeholder="main/util.c"
                value={newPath}
                onChange={(e) => setNewPath(e.target.value)}
                style={{ minWidth: 0, flex: 1 }}
              />
              <button type="submit" disabled={!newPath.trim()}>
                Add
              </button>
            </div>
          </form>
        </div>
        <div className="panel" style={{ minWidth: 0 }}>
          {current ? (
            <>
              <div className="row" style={{ justifyContent: 'space-between', marginBottom: '0.5rem' }}>
                <strong className="mono small" data-testid="open-file">
                  {current}
                </strong>
                <span className="row small muted" style={{ alignItems: 'center' }}>
                  {LANGUAGE_LABEL[languageOf(current)]}
                  <button type="button" className="danger" onClick={() => void deleteFile(current)}>
                    Delete file
                  </button>
                </span>
              </div>
              {text === null ? (
                <p className="muted">
                  Binary file ({formatBytes(data!.length)}): it is built as it is, not edited here.
                </p>
              ) : (
                <CodeEditor key={current} path={current} initial={text} onChange={(t) => edit(current, t)} />
              )}
            </>
          ) : (
            <p className="muted">Choose a file to edit.</p>
          )}
        </div>
      </div>
      <ChangesPanel changes={changes} before={last.data?.files ?? []} after={docs} built={!!last.data} />
      <ProjectBuilds builds={builds.data ?? []} />
      <div className="row">
        <button
          type="button"
          onClick={() =>
            saveFile(writeTar([...docs].map(([path, d]) => ({ path, data: d }))), `${p.name}.tar`, 'application/x-tar')
          }
        >
          Download as .tar
        </button>
        <button type="button" className="danger" onClick={() => void deleteProject()}>
          Delete project
        </button>
      </div>
    </>
  );
}
