'use client';
import { useState } from 'react';
import { lineDiff, textOf, type FileChange } from '@/lib/projects/source-diff';
import type { ProjectFile } from '@/lib/projects/types';

const EMPTY = new Uint8Array();

/** Table cells of the diff: compact, no row rules (the page's tables are roomier). */
const CELL = { padding: '0 0.4rem', border: 'none' } as const;

/** One file's line diff (last build → now), as unified hunks with line numbers. */
function FileDiff({ before, after }: { before: Uint8Array; after: Uint8Array }) {
  const a = textOf(before);
  const b = textOf(after);
  if (a === null || b === null)
    return (
      <p className="small muted">
        Binary file: {before.length} → {after.length} bytes.
      </p>
    );
  const hunks = lineDiff(a, b);
  return (
    <div className="table-wrap" data-testid="line-diff">
      <table className="small mono" style={{ borderCollapse: 'collapse', width: '100%' }}>
        <caption className="sr-only">Lines removed and added since the last build</caption>
        <tbody>
          {hunks.map((h) => [
            <tr key={h.header}>
              <td colSpan={4} className="muted" style={{ ...CELL, padding: '0.3rem 0.4rem' }}>
                {h.header}
              </td>
            </tr>,
            ...h.lines.map((l, i) => (
              <tr
                key={`${h.header}:${i}`}
                data-kind={l.kind}
                style={{
                  background:
                    l.kind === 'add'
                      ? 'color-mix(in srgb, var(--ok) 15%, transparent)'
                      : l.kind === 'del'
                        ? 'color-mix(in srgb, var(--bad) 15%, transparent)'
                        : undefined,
                }}
              >
                <td className="muted" style={{ ...CELL, textAlign: 'right', width: '3em' }}>
                  {l.oldNo ?? ''}
                </td>
                <td className="muted" style={{ ...CELL, textAlign: 'right', width: '3em' }}>
                  {l.newNo ?? ''}
                </td>
                <td
                  aria-label={l.kind === 'add' ? 'added' : l.kind === 'del' ? 'removed' : undefined}
                  style={{ ...CELL, width: '1em' }}
                >
                  {l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ''}
                </td>
                <td style={{ ...CELL, whiteSpace: 'pre-wrap' }}>{l.text}</td>
              </tr>
            )),
          ])}
        </tbody>
      </table>
    </div>
  );
}

/** "Changes since the last build": which files changed, and the line diff of the one chosen. */
export function ChangesPanel({
  changes,
  before,
  after,
  built,
}: {
  changes: FileChange[] | null;
  before: ProjectFile[];
  after: Map<string, Uint8Array>;
  built: boolean;
}) {
  const [chosen, setChosen] = useState<string | null>(null);
  const old = new Map(before.map((f) => [f.path, f.data]));
  const shown = changes?.find((c) => c.path === chosen) ?? changes?.[0] ?? null;
  return (
    <section className="panel" aria-labelledby="changes-h" data-testid="changes">
      <h2 id="changes-h">Changes since the last build</h2>
      {!built ? (
        <p className="muted small">Not built yet: after the first build, what you change shows here.</p>
      ) : !changes?.length ? (
        <p className="muted small" data-testid="no-changes">
          No changes: the files are the ones the last build was started with.
        </p>
      ) : (
        <>
          <ul data-testid="changed-files" className="small" style={{ margin: '0 0 0.75rem', paddingLeft: '1.2rem' }}>
            {changes.map((c) => (
              <li key={c.path}>
                <button
                  type="button"
                  className="mono"
                  aria-pressed={shown?.path === c.path}
                  onClick={() => setChosen(c.path)}
                  style={{ all: 'unset', cursor: 'pointer', textDecoration: 'underline' }}
                >
                  {c.path}
                </button>{' '}
                <span className="muted">({c.status})</span>
              </li>
            ))}
          </ul>
          {shown && (
            <>
              <h3 className="small mono" style={{ margin: '0 0 0.4rem' }}>
                {shown.path}
              </h3>
              <FileDiff before={old.get(shown.path) ?? EMPTY} after={after.get(shown.path) ?? EMPTY} />
            </>
          )}
        </>
      )}
    </section>
  );
}
