import type { SizeModel } from '@/lib/build/size-model';
import { formatBytes } from '@/lib/format';

function UsageBar({ label, used, total }: { label: string; used: number; total: number | null }) {
  const pct = total ? Math.min(100, (used / total) * 100) : null;
  const color = pct === null ? 'var(--accent)' : pct > 90 ? 'var(--bad)' : pct > 75 ? 'var(--warn)' : 'var(--ok)';
  return (
    <div style={{ marginBottom: '0.75rem' }}>
      <div className="row small" style={{ justifyContent: 'space-between' }}>
        <strong>{label}</strong>
        <span>
          {formatBytes(used)} used
          {total ? ` of ${formatBytes(total)} · ${formatBytes(total - used)} free (${pct!.toFixed(1)} %)` : ''}
        </span>
      </div>
      {total ? (
        <div
          className="bar"
          role="meter"
          aria-label={`${label} used`}
          aria-valuemin={0}
          aria-valuemax={total ?? used}
          aria-valuenow={used}
        >
          <span style={{ width: `${pct}%`, background: color }} />
        </div>
      ) : null}
    </div>
  );
}

/** Flash and RAM used and free, and the biggest components, as plain CSS bars (no chart library, no CDN). */
export function SizeChart({ model }: { model: SizeModel }) {
  const max = Math.max(1, ...model.components.map((c) => c.flash + c.ram));
  return (
    <section className="panel" aria-labelledby="size-h" data-testid="size-chart">
      <h2 id="size-h">Size</h2>
      {model.bars.map((b) => (
        <UsageBar key={b.name} label={b.name} used={b.used} total={b.total} />
      ))}
      {model.components.length > 0 && (
        <>
          <h3 className="small muted" style={{ margin: '1rem 0 0.4rem' }}>
            By component <span style={{ color: 'var(--accent)' }}>■</span> flash{' '}
            <span style={{ color: '#7c3aed' }}>■</span> RAM
          </h3>
          <table className="small">
            <tbody>
              {model.components.map((c) => (
                <tr key={c.name}>
                  <th scope="row" className="mono" style={{ textTransform: 'none', width: '30%' }}>
                    {c.name}
                  </th>
                  <td style={{ width: '50%' }}>
                    <div className="bar" aria-hidden="true">
                      <span style={{ width: `${(c.flash / max) * 100}%`, background: 'var(--accent)' }} />
                      <span style={{ width: `${(c.ram / max) * 100}%`, background: '#7c3aed' }} />
                    </div>
                  </td>
                  <td className="mono" style={{ whiteSpace: 'nowrap' }}>
                    {formatBytes(c.flash)} / {formatBytes(c.ram)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
