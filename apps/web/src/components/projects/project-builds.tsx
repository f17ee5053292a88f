'use client';
import { JobView, isTerminalJobState } from '@aegis/protocol';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { api } from '@/lib/api';
import { shortId } from '@/lib/format';
import type { ProjectBuild } from '@/lib/projects/types';

function BuildRow({ b }: { b: ProjectBuild }) {
  // The same query the build page uses, so its cached state is shared.
  const job = useQuery({
    queryKey: ['job', b.jobId],
    queryFn: () => api(`jobs/${b.jobId}`, JobView),
    refetchInterval: (q) => (q.state.data && isTerminalJobState(q.state.data.state) ? false : 5000),
  });
  const state = job.data?.state;
  return (
    <tr>
      <td data-label="Build">
        <Link className="mono" href={`/builds/${b.jobId}`}>
          {shortId(b.jobId)}
        </Link>
      </td>
      <td data-label="State">{state ? <span className={`badge ${state}`}>{state}</span> : '…'}</td>
      <td data-label="Target" className="mono">
        {b.options.target ?? 'project default'}
        {b.options.clean ? ' (clean)' : ''}
      </td>
      <td data-label="Started" className="small">
        {new Date(b.startedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}
      </td>
    </tr>
  );
}

/** The project's latest builds with their state from the API (by job id; the API knows nothing of projects). */
export function ProjectBuilds({ builds }: { builds: ProjectBuild[] }) {
  return (
    <section className="panel" aria-labelledby="project-builds-h">
      <h2 id="project-builds-h">Last builds</h2>
      {builds.length === 0 ? (
        <p className="muted small">No builds yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="small stack" data-testid="project-builds">
            <thead>
              <tr>
                <th scope="col">Build</th>
                <th scope="col">State</th>
                <th scope="col">Target</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {builds.slice(0, 10).map((b) => (
                <BuildRow key={b.jobId} b={b} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
