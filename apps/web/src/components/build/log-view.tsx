'use client';
import type { LogLine } from '@aegis/protocol';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { parseAnsi, stripAnsi } from '@/lib/ansi';

const LineView = memo(function LineView({ line, hit, id }: { line: LogLine; hit: boolean; id?: string }) {
  const cls = [line.stream === 'system' ? 'sys' : '', hit ? 'hit' : ''].filter(Boolean).join(' ');
  return (
    <div className={cls || undefined} id={id} data-seq={line.seq}>
      {parseAnsi(line.text).map((s, i) => (
        <span
          key={i}
          style={s.fg || s.bold ? { color: s.fg ?? undefined, fontWeight: s.bold ? 700 : undefined } : undefined}
        >
          {s.text}
        </span>
      ))}
      {'\n'}
    </div>
  );
});

/** The live build log: ANSI colours, search with next/previous, and follow (auto-scroll) that pauses on scroll-up. */
export function LogView({ lines, jumpTo }: { lines: LogLine[]; jumpTo?: { seq: number } | null }) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [hitIdx, setHitIdx] = useState(0);

  const hits = useMemo(() => {
    if (!query) return [] as number[];
    const q = query.toLowerCase();
    return lines.flatMap((l, i) => (stripAnsi(l.text).toLowerCase().includes(q) ? [i] : []));
  }, [lines, query]);
  const hitSet = useMemo(() => new Set(hits), [hits]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  const scrollToIndex = (i: number) => {
    const el = box.current?.querySelector<HTMLElement>(`[data-seq="${lines[i]?.seq}"]`);
    if (el && box.current) {
      setFollow(false);
      box.current.scrollTop = el.offsetTop - box.current.clientHeight / 3;
    }
  };
  useEffect(() => {
    if (hits.length) scrollToIndex(hits[Math.min(hitIdx, hits.length - 1)]);
  }, [hitIdx, query]);
  useEffect(() => {
    if (!jumpTo) return;
    const i = lines.findIndex((l) => l.seq === jumpTo.seq);
    if (i >= 0) scrollToIndex(i);
  }, [jumpTo]);

  return (
    <section aria-labelledby="log-h">
      <div className="row" style={{ marginBottom: '0.5rem' }}>
        <h2 id="log-h" style={{ margin: 0 }}>
          Log
        </h2>
        <div className="row" role="search" style={{ gap: '0.4rem' }}>
          <label htmlFor="log-search" className="sr-only">
            Search the log
          </label>
          <input
            id="log-search"
            type="search"
            placeholder="Search log"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setHitIdx(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && hits.length)
                setHitIdx((i) => (e.shiftKey ? (i - 1 + hits.length) % hits.length : (i + 1) % hits.length));
            }}
          />
          <span className="small muted" aria-live="polite" data-testid="log-search-count">
            {query
              ? `${hits.length ? Math.min(hitIdx, hits.length - 1) + 1 : 0} / ${hits.length}`
              : `${lines.length} lines`}
          </span>
          <button
            type="button"
            disabled={!hits.length}
            onClick={() => setHitIdx((i) => (i - 1 + hits.length) % hits.length)}
            aria-label="Previous match"
          >
            ↑
          </button>
          <button
            type="button"
            disabled={!hits.length}
            onClick={() => setHitIdx((i) => (i + 1) % hits.length)}
            aria-label="Next match"
          >
            ↓
          </button>
        </div>
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
      </div>
      <div
        ref={box}
        className="log"
        data-testid="log"
        role="log"
        aria-live="off"
        tabIndex={0}
        onWheel={(e) => {
          if (e.deltaY < 0) setFollow(false);
        }}
      >
        {lines.map((l, i) => (
          <LineView key={l.seq} line={l} hit={hitSet.has(i)} />
        ))}
      </div>
    </section>
  );
}
