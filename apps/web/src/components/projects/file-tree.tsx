'use client';
import type { ChangeStatus } from '@/lib/projects/source-diff';

interface Folder {
  folders: Map<string, Folder>;
  files: string[];
}

function treeOf(paths: string[]): Folder {
  const root: Folder = { folders: new Map(), files: [] };
  for (const p of paths) {
    const parts = p.split('/');
    let f = root;
    for (const d of parts.slice(0, -1)) {
      if (!f.folders.has(d)) f.folders.set(d, { folders: new Map(), files: [] });
      f = f.folders.get(d)!;
    }
    f.files.push(p);
  }
  return root;
}

const MARK: Record<ChangeStatus, string> = { added: '+', modified: '●', removed: '−' };

/** The project's files as folders and files; changed files carry a mark (changed since the last build). */
export function FileTree({
  paths,
  selected,
  changes,
  onSelect,
}: {
  paths: string[];
  selected: string | null;
  changes: Map<string, ChangeStatus>;
  onSelect(path: string): void;
}) {
  const render = (f: Folder, depth: number) => (
    <ul style={{ listStyle: 'none', margin: 0, paddingLeft: depth ? '0.9rem' : 0 }}>
      {[...f.folders.keys()].sort().map((name) => (
        <li key={`d:${name}`}>
          <span className="small muted mono">{name}/</span>
          {render(f.folders.get(name)!, depth + 1)}
        </li>
      ))}
      {f.files.sort().map((path) => {
        const change = changes.get(path);
        return (
          <li key={path}>
            <button
              type="button"
              className="file-link mono small"
              aria-current={selected === path ? 'true' : undefined}
              onClick={() => onSelect(path)}
              style={{
                all: 'unset',
                cursor: 'pointer',
                display: 'block',
                padding: '0.1rem 0.3rem',
                borderRadius: 4,
                fontWeight: selected === path ? 700 : 400,
                background: selected === path ? 'color-mix(in srgb, var(--accent) 14%, transparent)' : undefined,
              }}
            >
              {path.split('/').pop()}
              {change && (
                <>
                  <span aria-hidden="true" title={`${change} since the last build`}>
                    {' '}
                    {MARK[change]}
                  </span>
                  <span className="sr-only"> ({change} since the last build)</span>
                </>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
  return (
    <nav aria-label="Project files" data-testid="file-tree">
      {render(treeOf(paths), 0)}
    </nav>
  );
}
