'use client';
import { JobListResponse } from '@aegis/protocol';
import { useInfiniteQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { api } from '@/lib/api';
import { formatDuration, formatTime, shortId } from '@/lib/format';
import { ErrorBox } from '@/components/error-box';
import { ProjectLink } from '@/components/projects/project-link';
import { useProjectOfBuild } from '@/lib/projects/use-projects';

export function BuildHistory() {
  // Newest first, 50 a page; "Show older builds" follows the API's cursor.
  const q = useInfiniteQuery({
    queryKey: ['jobs'],
    queryFn: async ({ pageParam }) => {
      const body = await api(
        `jobs?limit=50${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
        JobListResponse,
      );
      return { jobs: body.jobs, next: body.next_cursor };
    },
    initialPageParam: '',
    getNextPageParam: (last) => last.next ?? undefined,
    refetchInterval: 5000,
  });
  // Builds started from a project of this browser name it (kept in IndexedDB; the API knows no projects).
  const projectOf = useProjectOfBuild();
  if (q.error) return <ErrorBox error={q.error} title="Build history could not be loaded" />;
  if (!q.data) return <p className="muted">Loading builds…</p>;
  const jobs = q.data.pages.flatMap((p) => p.jobs).filter((j) => j.kind !== 'attach');
  if (jobs.length === 0)
    return (
      <div className="alert info">
        No builds yet. <Link href="/builds/new">Start one from a template</Link>.
      </div>
    );
  return (
    <div className="panel table-wrap">
      <table data-testid="history" className="stack">
        <caption className="sr-only">Your builds, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Build</th>
            <th scope="col">Project</th>
            <th scope="col">State</th>
            <th scope="col">Target</th>
            <th scope="col" className="hide-narrow">
              IDF
            </th>
            <th scope="col">Created</th>
            <th scope="col" className="hide-narrow">
              Took
            </th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id}>
              <td data-label="Build">
                <Link className="mono" href={`/builds/${j.id}`}>
                  {shortId(j.id)}
                </Link>
              </td>
              <td data-label="Project">
                <ProjectLink project={projectOf(j.id)} />
              </td>
              <td data-label="State">
                <span className={`badge ${j.state}`}>{j.state}</span>
                {j.queue && (
                  <div className="small muted" data-testid="queue-place">
                    {j.queue.position === 1 ? 'next in the queue' : `${j.queue.position - 1} builds before it`}
                    {j.queue.estimate_secs !== null && ` · starts in about ${formatWait(j.queue.estimate_secs)}`}
                  </div>
                )}
                {j.results_expired_at && (
                  <div className="small muted" data-testid="results-expired">
                    Results deleted {formatTime(j.results_expired_at)} ·{' '}
                    <Link href="/builds/new">build again from the same source</Link>
                  </div>
                )}
              </td>
              <td data-label="Target" className="mono">
                {j.params?.target ?? '—'}
              </td>
              <td data-label="IDF" className="mono hide-narrow">
                {j.params?.idf_version ?? 'default'}
              </td>
              <td data-label="Created" className="small">
                {formatTime(j.created_at)}
              </td>
              <td data-label="Took" className="small hide-narrow">
                {formatDuration(j.started_at ?? j.assigned_at, j.finished_at)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {q.hasNextPage && (
        <button
          type="button"
          onClick={() => void q.fetchNextPage()}
          disabled={q.isFetchingNextPage}
          style={{ marginTop: '0.75rem' }}
        >
          {q.isFetchingNextPage ? 'Loading…' : 'Show older builds'}
        </button>
      )}
    </div>
  );
}

/** A queue wait as a person reads it: seconds under 90 s, minutes above. */
function formatWait(secs: number): string {
  return secs < 90 ? `${secs} s` : `${Math.round(secs / 60)} min`;
}
