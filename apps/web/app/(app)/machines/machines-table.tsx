'use client';
import { useQuery } from '@tanstack/react-query';
import { MachineListResponse } from '@aegis/protocol';
import { api } from '@/lib/api';
import { formatTime } from '@/lib/format';
import { toMachineRow } from '@/lib/machine-view';
import { ErrorBox } from '@/components/error-box';

export function MachinesTable() {
  const q = useQuery({
    queryKey: ['machines'],
    queryFn: async () => (await api('machines', MachineListResponse)).machines.map(toMachineRow),
    refetchInterval: 5000,
  });
  if (q.error) return <ErrorBox error={q.error} title="Machines could not be loaded" />;
  if (!q.data) return <p className="muted">Loading machines…</p>;
  if (q.data.length === 0)
    return (
      <div className="alert info">
        No build machine has registered yet. Start one with <code>npm start</code> or see the README.
      </div>
    );
  return (
    <div className="panel table-wrap">
      <table data-testid="machines" className="stack">
        <caption className="sr-only">Build machines, refreshed every 5 seconds</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">IDF versions</th>
            <th scope="col">Targets</th>
            <th scope="col">Free slots</th>
            <th scope="col" className="hide-narrow">
              Last seen
            </th>
          </tr>
        </thead>
        <tbody>
          {q.data.map((m) => (
            <tr key={m.id}>
              <td data-label="Name">
                <strong>{m.name}</strong>
                <div className="muted small mono">{m.id.slice(0, 8)}</div>
              </td>
              <td data-label="Status">
                <span className={`badge ${m.online ? 'online' : 'offline'}`}>{m.online ? 'online' : 'offline'}</span>
              </td>
              <td data-label="IDF versions" className="mono">
                {m.idfVersions.join(', ') || '—'}
              </td>
              <td data-label="Targets" className="mono small">
                {m.targets.join(', ') || '—'}
              </td>
              <td data-label="Free slots">{m.freeSlots === null ? '—' : `${m.freeSlots} / ${m.totalSlots ?? '?'}`}</td>
              <td data-label="Last seen" className="hide-narrow small">
                {formatTime(m.lastSeen)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
