import type { Diagnostic } from '@/lib/build/diagnostics';

/** Parsed compiler errors and warnings; each links to its line in the log. */
export function DiagnosticsList({ items, onJump }: { items: Diagnostic[]; onJump: (seq: number) => void }) {
  if (!items.length) return null;
  const errors = items.filter((d) => d.severity === 'error').length;
  return (
    <section className="panel" aria-labelledby="diag-h" data-testid="diagnostics">
      <h2 id="diag-h">
        {errors ? `${errors} error${errors > 1 ? 's' : ''}` : ''}
        {errors && items.length > errors ? ', ' : ''}
        {items.length > errors ? `${items.length - errors} warning${items.length - errors > 1 ? 's' : ''}` : ''}
      </h2>
      <ul style={{ margin: 0, paddingLeft: '1.1rem' }}>
        {items.map((d, i) => (
          <li key={i}>
            <span className={`badge ${d.severity === 'error' ? 'bad' : 'running'}`}>{d.severity}</span>{' '}
            <a
              href={`#log-${d.seq}`}
              className="mono"
              onClick={(e) => {
                e.preventDefault();
                onJump(d.seq);
              }}
            >
              {d.file}:{d.line}
              {d.column ? `:${d.column}` : ''}
            </a>{' '}
            {d.message}
          </li>
        ))}
      </ul>
    </section>
  );
}
