'use client';
import { MachineListResponse, Target } from '@aegis/protocol';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '@/lib/api';
import { LiveBuild } from '@/lib/build/live-build';
import { registerLive } from '@/lib/build/registry';
import { toMachineRow } from '@/lib/machine-view';
import { projectDefaults, readPickedFiles, toProjectFiles } from '@/lib/project/project-files';
import { LED_BOARDS, TEMPLATES, templateFiles, type TemplateName } from '@/lib/project/templates';
import { unzip } from '@/lib/project/unzip';
import type { TarEntry } from '@aegis/esp';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '@/components/error-box';

type Source = 'template' | 'folder' | 'zip';

export function NewBuildForm() {
  const router = useRouter();
  const machines = useQuery({
    queryKey: ['machines'],
    queryFn: async () => (await api('machines', MachineListResponse)).machines.map(toMachineRow),
  });
  const online = (machines.data ?? []).filter((m) => m.online);
  const idfVersions = [...new Set(online.flatMap((m) => m.idfVersions))];
  const targets = [...new Set(online.flatMap((m) => m.targets))];

  const [source, setSource] = useState<Source>('template');
  const [template, setTemplate] = useState<TemplateName>('hello_world');
  // blink only: the board whose LED pin the project gets (Kconfig default per target otherwise).
  const [board, setBoard] = useState('');
  const [uploaded, setUploaded] = useState<TarEntry[] | null>(null);
  const [target, setTarget] = useState('');
  const [idf, setIdf] = useState('');
  const [profile, setProfile] = useState<'debug' | 'release'>('debug');
  const [clean, setClean] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const applyDefaults = (files: TarEntry[]) => {
    const d = projectDefaults(files);
    if (d.target && Target.safeParse(d.target).success) setTarget(d.target);
    if (d.idf_version) setIdf(d.idf_version);
    if (d.profile === 'release' || d.profile === 'debug') setProfile(d.profile);
  };

  // A template's own defaults (its .espctl.toml) fill the options, as an uploaded project's do.
  useEffect(() => {
    if (source === 'template') applyDefaults(templateFiles(template));
    // applyDefaults only calls state setters
  }, [source, template]);

  async function onPick(list: FileList | null, kind: 'folder' | 'zip') {
    setError(null);
    setUploaded(null);
    if (!list?.length) return;
    try {
      const raw =
        kind === 'zip' ? await unzip(new Uint8Array(await list[0].arrayBuffer())) : await readPickedFiles(list);
      const files = toProjectFiles(raw);
      if (!files.some((f) => f.path === 'CMakeLists.txt'))
        throw Object.assign(
          new Error('This does not look like an ESP-IDF project: there is no CMakeLists.txt at its top.'),
          {
            code: 'not_a_project',
          },
        );
      setUploaded(files);
      applyDefaults(files);
    } catch (e) {
      setError(e);
    }
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const chosen = LED_BOARDS.find((b) => b.id === board);
    const files =
      source === 'template'
        ? templateFiles(
            template,
            (target || chosen?.target || 'esp32c3') as Target,
            template === 'blink' && chosen ? chosen.id : undefined,
          )
        : uploaded;
    if (!files?.length) {
      setError(new Error('Choose a template, a project folder or a zip first.'));
      return;
    }
    setBusy(true);
    const build = new LiveBuild('build');
    let navigated = false;
    const started = build.start(
      files,
      { target: target || undefined, idf_version: idf || undefined, profile, clean },
      (id) => {
        registerLive(id, build);
        navigated = true;
        router.push(`/builds/${id}`);
      },
    );
    await started;
    if (!navigated) {
      setError(build.store.get().error);
      setBusy(false);
    }
  }

  const total = uploaded?.reduce((n, f) => n + f.data.length, 0) ?? 0;
  return (
    <form onSubmit={onSubmit} className="panel" aria-describedby="new-build-help">
      <p id="new-build-help" className="muted">
        The project goes straight from this browser to a build machine over an encrypted WebRTC channel; the control API
        never sees it. To edit files in the browser and rebuild, keep it as a <Link href="/projects">project</Link>.
      </p>
      <fieldset>
        <legend>Project</legend>
        <div className="row" role="radiogroup" aria-label="Project source">
          {(['template', 'folder', 'zip'] as const).map((s) => (
            <label key={s} className="check">
              <input type="radio" name="source" value={s} checked={source === s} onChange={() => setSource(s)} />
              {s === 'template' ? 'Start from a template' : s === 'folder' ? 'Upload a folder' : 'Upload a zip'}
            </label>
          ))}
        </div>
        {source === 'template' && (
          <div className="field" style={{ marginTop: '0.75rem' }}>
            <label htmlFor="template">Template</label>
            <select id="template" value={template} onChange={(e) => setTemplate(e.target.value as TemplateName)}>
              {TEMPLATES.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} — {t.description}
                </option>
              ))}
            </select>
            {template === 'blink' && (
              <>
                <label htmlFor="board">Board (LED pin)</label>
                <select
                  id="board"
                  value={board}
                  onChange={(e) => {
                    setBoard(e.target.value);
                    const b = LED_BOARDS.find((x) => x.id === e.target.value);
                    if (b) setTarget(b.target);
                  }}
                >
                  <option value="">the target&apos;s default pin (change it in menuconfig)</option>
                  {LED_BOARDS.filter((b) => !target || b.target === target).map((b) => (
                    <option key={b.id} value={b.id}>
                      {b.name}: GPIO{b.gpio} — {b.note}
                    </option>
                  ))}
                </select>
              </>
            )}
          </div>
        )}
        {source === 'folder' && (
          <div className="field" style={{ marginTop: '0.75rem' }}>
            <label htmlFor="folder">Project folder</label>
            <input
              id="folder"
              type="file"
              multiple
              {...({ webkitdirectory: '' } as Record<string, string>)}
              onChange={(e) => onPick(e.target.files, 'folder')}
            />
          </div>
        )}
        {source === 'zip' && (
          <div className="field" style={{ marginTop: '0.75rem' }}>
            <label htmlFor="zip">Project zip</label>
            <input id="zip" type="file" accept=".zip,application/zip" onChange={(e) => onPick(e.target.files, 'zip')} />
          </div>
        )}
        {source !== 'template' && uploaded && (
          <p className="small muted" aria-live="polite">
            {uploaded.length} files, {formatBytes(total)} ready to upload.
          </p>
        )}
      </fieldset>
      <fieldset>
        <legend>Options</legend>
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <div className="field">
            <label htmlFor="target">Target</label>
            <select id="target" value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">project default</option>
              {(targets.length ? targets : Target.options).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="idf">IDF version</label>
            <select id="idf" value={idf} onChange={(e) => setIdf(e.target.value)}>
              <option value="">project / machine default</option>
              {[...new Set([...idfVersions, ...(idf ? [idf] : [])])].map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="profile">Profile</label>
            <select id="profile" value={profile} onChange={(e) => setProfile(e.target.value as 'debug' | 'release')}>
              <option value="debug">debug</option>
              <option value="release">release</option>
            </select>
          </div>
          <label className="check">
            <input type="checkbox" checked={clean} onChange={(e) => setClean(e.target.checked)} /> Clean build
          </label>
        </div>
        {machines.data && online.length === 0 && (
          <p className="alert warn" role="status">
            No build machine is online right now; the build will wait in the queue until one is.
          </p>
        )}
      </fieldset>
      <ErrorBox error={error} title="The build could not start" />
      <button className="primary" type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Start build'}
      </button>
    </form>
  );
}
