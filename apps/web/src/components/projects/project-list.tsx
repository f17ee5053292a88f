'use client';
import Link from 'next/link';
import { ErrorBox } from '@/components/error-box';
import type { Project } from '@/lib/projects/types';
import { useProjects } from '@/lib/projects/use-projects';

export function originLabel(p: Project): string {
  const o = p.origin;
  if (o.kind === 'template') return `template ${o.template}`;
  return o.fileName ? `${o.kind} ${o.fileName}` : `uploaded ${o.kind}`;
}

/** The projects kept in this browser, most recently changed first. */
export function ProjectList() {
  const q = useProjects();
  if (q.error) return <ErrorBox error={q.error} title="Projects could not be read from this browser" />;
  if (!q.data) return <p className="muted">Loading projects…</p>;
  if (q.data.length === 0)
    return <p className="alert info">No projects in this browser yet: start one from a template or an upload below.</p>;
  return (
    <div className="panel table-wrap">
      <table data-testid="project-list" className="stack">
        <caption className="sr-only">Projects in this browser, most recently changed first</caption>
        <thead>
          <tr>
            <th scope="col">Project</th>
            <th scope="col">Started from</th>
            <th scope="col">Target</th>
            <th scope="col">Changed</th>
          </tr>
        </thead>
        <tbody>
          {q.data.map((p) => (
            <tr key={p.id}>
              <td data-label="Project">
                <Link href={`/projects/${p.id}`}>{p.name}</Link>
              </td>
              <td data-label="Started from" className="small">
                {originLabel(p)}
              </td>
              <td data-label="Target" className="mono">
                {p.options.target ?? 'project default'}
              </td>
              <td data-label="Changed" className="small">
                {new Date(p.updatedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
