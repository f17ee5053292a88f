'use client';
import type { LogLine } from '@aegis/protocol';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { parseAnsi, stripAnsi } from '@/lib/ansi';
import type { LineStore, LogSnapshot } from '@/lib/build/log-lines';

/** Every row is one line high (long lines scroll sideways): the list's height is count × ROW_PX, nothing measured. */
const ROW_PX = 18;
/**
 * The virtualiser places blocks of this many lines, not single lines: its bookkeeping per update is linear in the
 * number of items, and 100,000 lines are 3,125 blocks. The visible blocks and one either side are in the page.
 */
const BLOCK = 32;
const OVERSCAN_BLOCKS = 1;

const LineView = memo(function LineView({ line, hit, current }: { line: LogLine; hit: boolean; current: boolean }) {
  const cls = [line.stream === 'system' ? 'sys' : '', hit ? 'hit' : '', current ? 'err-line' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={cls || undefined}
      data-seq={line.seq}
      aria-current={current || undefined}
      style={{ height: ROW_PX, lineHeight: `${ROW_PX}px`, whiteSpace: 'pre' }}
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

/**
 * While following, the blocks at the end, placed as the virtualiser will place them once the view has scrolled
 * there: the render after that scroll then changes nothing, so each update is rendered once, not twice.
 */
function bottomBlocks(blocks: number, count: number, height = 600): { index: number; start: number }[] {
  const blockPx = BLOCK * ROW_PX;
  const first = Math.max(0, Math.floor((count * ROW_PX - height) / blockPx) - OVERSCAN_BLOCKS);
  const out: { index: number; start: number }[] = [];
  for (let b = first; b < blocks; b++) out.push({ index: b, start: b * blockPx });
  return out;
}

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

  const blocks = Math.ceil(count / BLOCK);
  const virtual = useVirtualizer({
    count: blocks,
    getScrollElement: () => box.current,
    estimateSize: (b) => Math.min(BLOCK, count - b * BLOCK) * ROW_PX,
    overscan: OVERSCAN_BLOCKS,
  });

  // Following: after every update the newest line is at the bottom (before paint, so it never flickers).
  useLayoutEffect(() => {
    const el = box.current;
    if (follow && el) {
      el.scrollTop = el.scrollHeight;
      lastTop.current = el.scrollTop;
    }
  }, [follow, count, log]);

  /** Rows have one height, so a row's place is arithmetic: centre it. */
  const showRow = (row: number) => {
    setFollow(false);
    const el = box.current;
    if (el) el.scrollTop = Math.max(0, row * ROW_PX - el.clientHeight / 2 + ROW_PX);
  };
  const showLine = (index: number) => {
    setCurrent(index);
    if (filtered) {
      const row = lowerBound(hits, index);
      if (hits[row] === index) return showRow(row);
      setOnlyHits(false);
      setFollow(false);
      // The full list renders next; scroll there once it has.
      requestAnimationFrame(() => showRow(index - log.start));
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
        <div style={{ height: virtual.getTotalSize(), position: 'relative', minWidth: 'max-content' }}>
          {(follow ? bottomBlocks(blocks, count, virtual.scrollRect?.height) : virtual.getVirtualItems()).map((v) => {
            const rows: ReactNode[] = [];
            for (let r = v.index * BLOCK; r < Math.min(count, (v.index + 1) * BLOCK); r++) {
              const index = indexAt(r);
              const line = log.store.at(index);
              if (!line) continue;
              const hit = !!query && hits[lowerBound(hits, index)] === index;
              rows.push(<LineView key={line.seq} line={line} hit={hit} current={current === index} />);
            }
            return (
              <div
                key={v.index}
                style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${v.start}px)` }}
              >
                {rows}
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
