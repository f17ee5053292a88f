'use client';
import type { LogLine } from '@aegis/protocol';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { parseAnsi, stripAnsi } from '@/lib/ansi';
import type { LineStore, LogSnapshot } from '@/lib/build/log-lines';

/** Every row is one line high (long lines scroll sideways): the list's height is count × ROW_PX, nothing measured. */
const ROW_PX = 18;
/** Rows rendered above and below the visible ones, so a fast scroll shows text, not gaps. */
const OVERSCAN = 20;

const LineView = memo(function LineView({
  line,
  hit,
  current,
  top,
}: {
  line: LogLine;
  hit: boolean;
  current: boolean;
  top: number;
}) {
  const cls = [line.stream === 'system' ? 'sys' : '', hit ? 'hit' : '', current ? 'err-line' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={cls || undefined}
      data-seq={line.seq}
      aria-current={current || undefined}
      style={{
        position: 'absolute',
        top: 0,
        left: 0,
        minWidth: '100%',
        height: ROW_PX,
        lineHeight: `${ROW_PX}px`,
        whiteSpace: 'pre',
        transform: `translateY(${top}px)`,
      }}
    >
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

/** Matches of a search, found incrementally: a growing log scans only its new lines. */
interface Search {
  query: string;
  /** Global indexes of matching lines, ascending. */
  hits: number[];
  scannedTo: number;
}

function extendSearch(prev: Search | null, query: string, store: LineStore, end: number): Search {
  const s = prev && prev.query === query ? prev : { query, hits: [], scannedTo: 0 };
  if (!query) return s;
  const q = query.toLowerCase();
  const hits = s.hits.slice(lowerBound(s.hits, store.start));
  for (let i = Math.max(s.scannedTo, store.start); i < end; i++) {
    if (stripAnsi(store.at(i)!.text).toLowerCase().includes(q)) hits.push(i);
  }
  return { query, hits, scannedTo: end };
}

/** First position in a sorted array whose value is ≥ x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The live build log: ANSI colours, virtualised (only the rows on screen are in the page, so 100,000 lines scroll
 * like 100), search with next/previous and "only matching lines", and follow (stays at the newest line) that
 * stops when the user scrolls up and resumes when they scroll back to the end.
 */
export function LogView({ log, jumpTo }: { log: LogSnapshot; jumpTo?: { seq: number } | null }) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [onlyHits, setOnlyHits] = useState(false);
  const [hitIdx, setHitIdx] = useState(0);
  const [current, setCurrent] = useState<number | null>(null);
  const lastTop = useRef(0);
  const searchRef = useRef<Search | null>(null);

  const search = useMemo(() => {
    const s = extendSearch(searchRef.current, query, log.store, log.end);
    searchRef.current = s;
    return s;
  }, [log, query]);
  const hits = query ? search.hits : [];
  const filtered = onlyHits && !!query;
  const count = filtered ? hits.length : log.end - log.start;
  const indexAt = (row: number) => (filtered ? hits[row] : log.start + row);

  const virtual = useVirtualizer({
    count,
    getScrollElement: () => box.current,
    estimateSize: () => ROW_PX,
    overscan: OVERSCAN,
  });

  // Following: after every update the newest line is at the bottom (before paint, so it never flickers).
  useLayoutEffect(() => {
    const el = box.current;
    if (follow && el) {
      el.scrollTop = el.scrollHeight;
      lastTop.current = el.scrollTop;
    }
  }, [follow, count, log]);

  const showRow = (row: number) => {
    setFollow(false);
    virtual.scrollToIndex(row, { align: 'center' });
  };
  const showLine = (index: number) => {
    setCurrent(index);
    if (filtered) {
      const row = lowerBound(hits, index);
      if (hits[row] === index) return showRow(row);
      setOnlyHits(false);
      // The full list renders next; scroll there once it has.
      requestAnimationFrame(() => virtual.scrollToIndex(index - log.start, { align: 'center' }));
      setFollow(false);
      return;
    }
    showRow(index - log.start);
  };

  const hitCount = hits.length;
  const hitPos = hitCount ? Math.min(hitIdx, hitCount - 1) : 0;
  useEffect(() => {
    if (hitCount) showLine(hits[hitPos]);
    // Only when the user moves between matches or changes the query, not when new lines add matches.
  }, [hitIdx, query]);
  useEffect(() => {
    if (!jumpTo) return;
    const i = log.store.indexOfSeq(jumpTo.seq);
    if (i >= 0) showLine(i);
  }, [jumpTo]);

  const step = (d: number) => setHitIdx((i) => (i + d + hitCount) % hitCount);
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
              if (e.key === 'Enter' && hitCount) step(e.shiftKey ? -1 : 1);
            }}
          />
          <span className="small muted" aria-live="polite" data-testid="log-search-count">
            {query ? `${hitCount ? hitPos + 1 : 0} / ${hitCount}` : `${log.end - log.start} lines`}
          </span>
          <button type="button" disabled={!hitCount} onClick={() => step(-1)} aria-label="Previous match">
            ↑
          </button>
          <button type="button" disabled={!hitCount} onClick={() => step(1)} aria-label="Next match">
            ↓
          </button>
          <label className="check">
            <input type="checkbox" checked={onlyHits} onChange={(e) => setOnlyHits(e.target.checked)} /> Only matches
          </label>
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
        style={{ whiteSpace: 'pre', overflowAnchor: 'none' }}
        onWheel={(e) => {
          const el = e.currentTarget;
          if (e.deltaY < 0) setFollow(false);
          else if (e.deltaY > 0 && el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX) setFollow(true);
        }}
        onScroll={(e) => {
          // Scrolling up (scroll bar, keys, touch) stops following; growth and our own scrolls only go down.
          const top = e.currentTarget.scrollTop;
          if (top < lastTop.current - 1 && follow) setFollow(false);
          lastTop.current = top;
        }}
      >
        <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {virtual.getVirtualItems().map((v) => {
            const index = indexAt(v.index);
            const line = log.store.at(index);
            if (!line) return null;
            const hit = !!query && hits[lowerBound(hits, index)] === index;
            return <LineView key={line.seq} line={line} hit={hit} current={current === index} top={v.start} />;
          })}
        </div>
      </div>
    </section>
  );
}
