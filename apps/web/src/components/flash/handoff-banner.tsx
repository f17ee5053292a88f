'use client';
import { FlashRequestList } from '@aegis/protocol';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { api } from '@/lib/api';
import { shortId } from '@/lib/format';

/** Polls for flash requests from AI agents (the API counts this tab as "connected" while it polls). */
export function HandoffBanner() {
  const path = usePathname();
  const q = useQuery({
    queryKey: ['flash-requests', 'pending'],
    queryFn: async () => (await api('flash-requests?status=pending', FlashRequestList)).requests,
    refetchInterval: 3000,
    retry: false,
  });
  const pending = (q.data ?? []).filter((r) => r.status === 'pending');
  if (!pending.length || path === '/flash') return null;
  return (
    <div className="alert info" role="status" data-testid="handoff-banner" style={{ margin: '0.75rem 1.25rem 0' }}>
      {pending.map((r) => (
        <div key={r.id} className="row">
          <span>
            An AI agent asks to flash build <span className="mono">{shortId(r.job_id)}</span> onto your board.
          </span>
          <Link className="button primary" href={`/flash?request=${r.id}`}>
            Review
          </Link>
        </div>
      ))}
    </div>
  );
}
