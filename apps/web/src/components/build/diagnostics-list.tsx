import type { Diagnostic, IncludeSite } from '@/lib/build/diagnostics';

/** A long list of warnings stays cheap: the rest are counted, and all are in the log. */
const SHOWN = 100;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function LineLink({
  where,
  label,
  onJump,
}: {
  where: { file: string; line: number; column?: number | null; seq: number };
  label?: string;
  onJump: (seq: number) => void;
}) {
  return (
    <a
      href={`#log-${where.seq}`}
      className="mono"
      onClick={(e) => {
        e.preventDefault();
        onJump(where.seq);
      }}
    >
      {label ?? `${where.file}:${where.line}${where.column ? `:${where.column}` : ''}`}
    </a>
  );
}

/** gcc's "In file included from": the include in the user's file is what they can change. */
function IncludeChain({ chain, onJump }: { chain: IncludeSite[]; onJump: (seq: number) => void }) {
  if (!chain.length) return null;
  return (
    <div className="small muted" data-testid="include-chain">
      included from{' '}
      {chain.map((s, i) => (
        <span key={i}>
          {i > 0 ? ' ← ' : ''}
          <LineLink where={s} onJump={onJump} />
        </span>
      ))}
    </div>
  );
}

/**
 * Parsed compiler errors and warnings, the user's own first (so the first entry is the one to fix); each links to
 * its line in the log, and a header's error to where the user's file included it.
 */
export function DiagnosticsList({ items, onJump }: { items: Diagnostic[]; onJump: (seq: number) => void }) {
  if (!items.length) return null;
  const errors = items.filter((d) => d.severity === 'error').length;
  const warnings = items.length - errors;
  return (
    <section className="panel" aria-labelledby="diag-h" data-testid="diagnostics">
      <h2 id="diag-h">
        {[errors && plural(errors, 'error'), warnings && plural(warnings, 'warning')].filter(Boolean).join(', ')}
      </h2>
      <ul style={{ margin: 0, paddingLeft: '1.1rem' }}>
        {items.slice(0, SHOWN).map((d, i) => (
          <li key={i} data-in-project={d.inProject || undefined}>
            <span className={`badge ${d.severity === 'error' ? 'bad' : 'running'}`}>{d.severity}</span>{' '}
            {d.file ? (
              <LineLink where={d} onJump={onJump} />
            ) : (
              <LineLink where={{ file: 'log', line: 0, seq: d.seq }} label="in the log" onJump={onJump} />
            )}{' '}
            {d.message}
            <IncludeChain chain={d.includedFrom} onJump={onJump} />
          </li>
        ))}
      </ul>
      {items.length > SHOWN && (
        <p className="small muted" style={{ margin: '0.4rem 0 0' }}>
          and {items.length - SHOWN} more in the log
        </p>
      )}
    </section>
  );
}
