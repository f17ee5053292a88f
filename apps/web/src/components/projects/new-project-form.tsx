'use client';
import { Target } from '@aegis/protocol';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { ErrorBox } from '@/components/error-box';
import { formatBytes } from '@/lib/format';
import { projectDefaults } from '@/lib/project/project-files';
import { TEMPLATES, type TemplateName } from '@/lib/project/templates';
import { projectStore } from '@/lib/projects/project-store';
import { projectNameOf, templateProjectFiles, uploadedProjectFiles } from '@/lib/projects/project-sources';
import type { ProjectFile, ProjectOrigin } from '@/lib/projects/types';
import { useInvalidateProjects } from '@/lib/projects/use-projects';

type Source = 'template' | 'folder' | 'zip';

/** Creates a project in this browser from a template, a folder or a zip, then opens it. */
export function NewProjectForm() {
  const router = useRouter();
  const invalidate = useInvalidateProjects();
  const [source, setSource] = useState<Source>('template');
  const [template, setTemplate] = useState<TemplateName>('hello_world');
  const [name, setName] = useState('hello_world');
  const [nameTouched, setNameTouched] = useState(false);
  const [target, setTarget] = useState<Target>('esp32c3');
  const [uploaded, setUploaded] = useState<{ files: ProjectFile[]; origin: ProjectOrigin } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function onPick(list: FileList | null, kind: 'folder' | 'zip') {
    setError(null);
    setUploaded(null);
    if (!list?.length) return;
    try {
      const files = await uploadedProjectFiles(list, kind);
      if (!files.some((f) => f.path === 'CMakeLists.txt'))
        throw Object.assign(
          new Error('This does not look like an ESP-IDF project: there is no CMakeLists.txt at its top.'),
          { code: 'not_a_project' },
        );
      const first = list[0] as File & { webkitRelativePath?: string };
      const fileName = kind === 'zip' ? first.name : (first.webkitRelativePath || first.name).split('/')[0];
      setUploaded({ files, origin: { kind, fileName } });
      if (!nameTouched) setName(projectNameOf(files, fileName.replace(/\.zip$/i, '')));
    } catch (e) {
      setError(e);
    }
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      let files: ProjectFile[];
      let origin: ProjectOrigin;
      let options: { target?: string; idf_version?: string; profile?: 'debug' | 'release' } = {};
      if (source === 'template') {
        files = templateProjectFiles(template, name.trim(), target);
        origin = { kind: 'template', template };
        options = { target };
      } else {
        if (!uploaded) throw new Error(`Choose a project ${source === 'zip' ? 'zip' : 'folder'} first.`);
        ({ files, origin } = uploaded);
        const d = projectDefaults(files);
        if (d.target && Target.safeParse(d.target).success) options.target = d.target;
        if (d.idf_version) options.idf_version = d.idf_version;
        if (d.profile === 'debug' || d.profile === 'release') options.profile = d.profile;
      }
      const project = await projectStore.create({ name, origin, options, files });
      await invalidate();
      router.push(`/projects/${project.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const total = uploaded?.files.reduce((n, f) => n + f.data.length, 0) ?? 0;
  return (
    <form onSubmit={onSubmit} className="panel" aria-labelledby="new-project-h">
      <h2 id="new-project-h">New project</h2>
      <p className="muted small">
        Projects are kept in this browser (IndexedDB), not on the server: build machines get the files only when you
        build.
      </p>
      <div className="row" role="radiogroup" aria-label="Start from">
        {(['template', 'folder', 'zip'] as const).map((s) => (
          <label key={s} className="check">
            <input type="radio" name="project-source" checked={source === s} onChange={() => setSource(s)} />
            {s === 'template' ? 'A template' : s === 'folder' ? 'A folder' : 'A zip'}
          </label>
        ))}
      </div>
      <div className="row" style={{ alignItems: 'flex-end', marginTop: '0.75rem' }}>
        {source === 'template' && (
          <>
            <div className="field">
              <label htmlFor="project-template">Template</label>
              <select
                id="project-template"
                value={template}
                onChange={(e) => {
                  const t = e.target.value as TemplateName;
                  setTemplate(t);
                  if (!nameTouched) setName(t);
                }}
              >
                {TEMPLATES.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name} — {t.description}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="project-target">Target</label>
              <select id="project-target" value={target} onChange={(e) => setTarget(e.target.value as Target)}>
                {Target.options.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </div>
          </>
        )}
        {source === 'folder' && (
          <div className="field">
            <label htmlFor="project-folder">Project folder</label>
            <input
              id="project-folder"
              type="file"
              multiple
              {...({ webkitdirectory: '' } as Record<string, string>)}
              onChange={(e) => void onPick(e.target.files, 'folder')}
            />
          </div>
        )}
        {source === 'zip' && (
          <div className="field">
            <label htmlFor="project-zip">Project zip</label>
            <input
              id="project-zip"
              type="file"
              accept=".zip,application/zip"
              onChange={(e) => void onPick(e.target.files, 'zip')}
            />
          </div>
        )}
        <div className="field">
          <label htmlFor="project-name">Name</label>
          <input
            id="project-name"
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              setNameTouched(true);
            }}
            aria-describedby="project-name-help"
          />
        </div>
      </div>
      <p id="project-name-help" className="small muted">
        {source === 'template'
          ? 'Also the ESP-IDF project name: letters, digits and "_", starting with a letter (main/<name>.c).'
          : uploaded
            ? `${uploaded.files.length} files, ${formatBytes(total)}.`
            : 'Build output (build/, managed_components/) and .git are left out.'}
      </p>
      <ErrorBox error={error} title="The project could not be created" />
      <button className="primary" type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create project'}
      </button>
    </form>
  );
}
