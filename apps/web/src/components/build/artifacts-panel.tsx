'use client';
import { useState } from 'react';
import type { LiveBuild, LiveBuildState } from '@/lib/build/live-build';
import { mergeParts } from '@aegis/esp';
import { bundleTar, fetchBundle } from '@/lib/build/bundle-files';
import { webToolsZip } from '@/lib/flash/web-tools-zip';
import { formatBytes } from '@/lib/format';
import { saveFile } from '@/lib/save-file';

/** The build's artifacts with sha256, and downloads fetched over the firmware channel. */
export function ArtifactsPanel({ build, live }: { build: LiveBuild; live: LiveBuildState }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fw = build.firmware;
  const m = live.manifest;

  const run = async (label: string, f: () => Promise<void>) => {
    setBusy(label);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  const name = m?.manifest.project ?? 'firmware';

  return (
    <section className="panel" aria-labelledby="art-h" data-testid="artifacts">
      <h2 id="art-h">Artifacts</h2>
      {m && fw && (
        <div className="row" style={{ marginBottom: '0.75rem' }}>
          <button
            type="button"
            disabled={!!busy}
            onClick={() =>
              run('bundle', async () => {
                const b = await fetchBundle(fw, live.artifacts ?? []);
                saveFile(bundleTar(b), `${name}-bundle.tar`, 'application/x-tar');
              })
            }
          >
            {busy === 'bundle' ? 'Preparing…' : 'Flash bundle (.tar)'}
          </button>
          <button
            type="button"
            disabled={!!busy}
            onClick={() =>
              run('merged', async () => {
                const b = await fetchBundle(fw, live.artifacts ?? []);
                const files = b.input.files as Map<string, Uint8Array>;
                const parts = b.manifest.parts.map((p) => ({
                  name: p.name,
                  offset: p.offset,
                  data: files.get(p.file)!,
                }));
                saveFile(mergeParts(parts), `${name}-merged.bin`);
              })
            }
          >
            {busy === 'merged' ? 'Preparing…' : 'Merged image (.bin)'}
          </button>
          <button
            type="button"
            disabled={!!busy}
            title="manifest.json and its parts at the paths it names: unzip onto a web server and point ESP Web Tools at it"
            onClick={() =>
              run('web', async () => {
                const b = await fetchBundle(fw, live.artifacts ?? []);
                const zip = webToolsZip(b.manifest, b.input.files as Map<string, Uint8Array>);
                saveFile(zip, `${name}-esp-web-tools.zip`, 'application/zip');
              })
            }
          >
            {busy === 'web' ? 'Preparing…' : 'ESP Web Tools (.zip)'}
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {live.artifacts ? (
        <div className="table-wrap">
          <table className="small stack">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Kind</th>
                <th scope="col">Size</th>
                <th scope="col">sha256</th>
                <th scope="col">
                  <span className="sr-only">Download</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {live.artifacts.map((a) => (
                <tr key={a.name}>
                  <td data-label="File" className="mono">
                    {a.name}
                  </td>
                  <td data-label="Kind">{a.kind}</td>
                  <td data-label="Size">{formatBytes(a.size)}</td>
                  <td data-label="sha256" className="mono" title={a.sha256}>
                    {a.sha256.slice(0, 16)}…
                  </td>
                  <td data-label="Download">
                    <button
                      type="button"
                      disabled={!!busy || !fw}
                      aria-label={`Download ${a.name}`}
                      onClick={() =>
                        run(a.name, async () => {
                          const d = await fw!.fetch(a.name);
                          saveFile(d.data, a.name);
                        })
                      }
                    >
                      ↓
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">{live.resultsError ?? 'Loading artifacts…'}</p>
      )}
    </section>
  );
}
