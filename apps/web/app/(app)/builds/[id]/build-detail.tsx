'use client';
import { JobView, isTerminalJobState } from '@aegis/protocol';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { api } from '@/lib/api';
import { LiveBuild } from '@/lib/build/live-build';
import { liveBuild, registerLive, releaseWhenIdle } from '@/lib/build/registry';
import { useLive } from '@/lib/build/use-live';
import { formatBytes, formatDuration, formatTime, shortId } from '@/lib/format';
import { ErrorBox } from '@/components/error-box';
import { LivePanels } from '@/components/build/live-panels';
import { BuildProjectBar } from '@/components/projects/build-project-bar';

export function BuildDetail({ jobId }: { jobId: string }) {
  const qc = useQueryClient();
  const [build, setBuild] = useState<LiveBuild | null>(null);
  useEffect(() => {
    setBuild(liveBuild(jobId) ?? null);
    return () => releaseWhenIdle(jobId);
  }, [jobId]);
  const live = useLive(build);

  const job = useQuery({
    queryKey: ['job', jobId],
    queryFn: () => api(`jobs/${jobId}`, JobView),
    refetchInterval: (q) => (q.state.data && isTerminalJobState(q.state.data.state) ? false : 3000),
  });
  useEffect(() => {
    if (live?.phase === 'succeeded' || live?.phase === 'failed')
      void qc.invalidateQueries({ queryKey: ['job', jobId] });
  }, [live?.phase, jobId, qc]);

  const reattach = () => {
    const b = new LiveBuild('attach');
    registerLive(jobId, b);
    setBuild(b);
    void b.attach(jobId);
  };

  const j = job.data;
  return (
    <>
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h1>
          Build <span className="mono">{shortId(jobId)}</span>{' '}
          {(live?.status?.state ?? j?.state) && (
            <span className={`badge ${live?.status?.state ?? j?.state}`} data-testid="job-state">
              {live?.status?.state ?? j?.state}
            </span>
          )}
        </h1>
        <div className="row">
          {build && live && !['succeeded', 'failed', 'canceled', 'error'].includes(live.phase) && (
            <button type="button" className="danger" onClick={() => void build.cancel()}>
              Cancel build
            </button>
          )}
          {!build && j && j.machine_id && !j.results_expired_at && (
            <button type="button" className="primary" onClick={reattach}>
              {isTerminalJobState(j.state) ? 'Open log and results' : 'Reattach'}
            </button>
          )}
        </div>
      </div>
      <BuildProjectBar jobId={jobId} />
      <ErrorBox error={job.error} title="This build could not be loaded" />
      {j && (
        <div className="panel">
          <dl className="row small" style={{ margin: 0, gap: '0.25rem 2rem' }}>
            <div>
              <dt className="muted">Target</dt>
              <dd className="mono" style={{ margin: 0 }}>
                {j.params.target ?? 'project default'}
              </dd>
            </div>
            <div>
              <dt className="muted">IDF</dt>
              <dd className="mono" style={{ margin: 0 }}>
                {j.params.idf_version ?? 'default'}
              </dd>
            </div>
            <div>
              <dt className="muted">Machine</dt>
              <dd style={{ margin: 0 }}>{live?.machineName ?? (j.machine_id ? shortId(j.machine_id) : '—')}</dd>
            </div>
            <div>
              <dt className="muted">Created</dt>
              <dd style={{ margin: 0 }}>{formatTime(j.created_at)}</dd>
            </div>
            <div>
              <dt className="muted">Took</dt>
              <dd style={{ margin: 0 }}>{formatDuration(j.started_at ?? j.assigned_at, j.finished_at)}</dd>
            </div>
            {j.sizes &&
              Object.entries(j.sizes).map(([k, v]) => (
                <div key={k}>
                  <dt className="muted">{k}</dt>
                  <dd style={{ margin: 0 }}>{formatBytes(v)}</dd>
                </div>
              ))}
          </dl>
          {j.error && !live && <ErrorBox error={j.error} title="The build failed" />}
          {j.results_expired_at && (
            <p className="alert info" data-testid="results-expired">
              Results deleted {formatTime(j.results_expired_at)} (build machines keep them for a limited time) ·{' '}
              <Link href="/builds/new">build again from the same source</Link>
            </p>
          )}
        </div>
      )}
      {build && live && <LivePanels build={build} live={live} />}
      {!build && j && !j.machine_id && !isTerminalJobState(j.state) && (
        <p className="alert info">This build is waiting for a machine.</p>
      )}
    </>
  );
}
