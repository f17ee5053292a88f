'use client';
import { FlashRequest, FlashRequestList } from '@aegis/protocol';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { api, apiSend } from '@/lib/api';
import { LiveBuild } from '@/lib/build/live-build';
import { liveBuild, registerLive, releaseWhenIdle } from '@/lib/build/registry';
import { useLive } from '@/lib/build/use-live';
import { shortId } from '@/lib/format';
import { ErrorBox } from '../error-box';
import { LivePanels } from '../build/live-panels';

/**
 * The MCP flash hand-off: an agent asked (through the API) to flash a build. Nothing touches the board until
 * the user confirms here; then the tab reattaches to the job over WebRTC, fetches the firmware and flashes.
 */
export function HandoffReview({ requestId }: { requestId: string }) {
  const qc = useQueryClient();
  const [build, setBuild] = useState<LiveBuild | null>(null);
  const live = useLive(build);
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [rejected, setRejected] = useState(false);
  const q = useQuery({
    queryKey: ['flash-requests', 'pending'],
    queryFn: async () => (await api('flash-requests?status=pending', FlashRequestList)).requests,
    refetchInterval: build ? false : 3000,
  });
  const [req, setReq] = useState<FlashRequest | null>(null);
  const current = req ?? q.data?.find((r) => r.id === requestId) ?? null;
  const jobOfBuild = req?.job_id;
  // Leaving the page lets the finished build's connection go after a while, as the build page does.
  useEffect(() => () => (jobOfBuild ? releaseWhenIdle(jobOfBuild) : undefined), [jobOfBuild]);

  async function confirm() {
    setError(null);
    try {
      const r = await api(`flash-requests/${requestId}/confirm`, FlashRequest, { method: 'POST', json: {} });
      setReq(r);
      // This tab may still be connected to that build (it started it): reuse the link, else reattach.
      const existing = liveBuild(r.job_id);
      if (existing && existing.store.get().phase === 'succeeded') {
        setBuild(existing);
        return;
      }
      const b = new LiveBuild('attach');
      registerLive(r.job_id, b);
      setBuild(b);
      void b.attach(r.job_id);
    } catch (e) {
      setError(e);
    }
  }
  async function reject() {
    setError(null);
    try {
      await apiSend(`flash-requests/${requestId}/reject`, { method: 'POST', json: {} });
      setRejected(true);
      void qc.invalidateQueries({ queryKey: ['flash-requests'] });
    } catch (e) {
      setError(e);
    }
  }
  async function onFlashed(ok: boolean, message: string) {
    setOutcome(ok ? 'The board was flashed and verified; the agent has been told.' : `Flashing failed: ${message}`);
    if (ok)
      await apiSend(`flash-requests/${requestId}/complete`, { method: 'POST', json: {} }).catch((e) => setError(e));
    void qc.invalidateQueries({ queryKey: ['flash-requests'] });
  }

  if (rejected) return <p className="alert info">Request rejected; nothing was flashed.</p>;
  if (!current && !q.isLoading)
    return <p className="alert warn">This flash request is no longer pending (it was handled, rejected or expired).</p>;
  return (
    <>
      <div className="panel" data-testid="handoff">
        <h2>An AI agent asks to flash a build</h2>
        {current && (
          <p>
            Build{' '}
            <Link className="mono" href={`/builds/${current.job_id}`}>
              {shortId(current.job_id)}
            </Link>{' '}
            · requested {new Date(current.created_at).toLocaleTimeString()}. Nothing is written to a board until you
            confirm.
          </p>
        )}
        {!build && (
          <div className="row">
            <button type="button" className="primary" onClick={() => void confirm()}>
              Confirm and flash
            </button>
            <button type="button" className="danger" onClick={() => void reject()}>
              Reject
            </button>
          </div>
        )}
        <ErrorBox error={error} title="The request could not be handled" />
        {outcome && (
          <p className="alert info" role="status" data-testid="handoff-outcome">
            {outcome}
          </p>
        )}
      </div>
      {build && live && <LivePanels build={build} live={live} autoFlash onFlashed={(ok, m) => void onFlashed(ok, m)} />}
    </>
  );
}
