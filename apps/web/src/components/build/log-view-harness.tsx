'use client';
import type { LogLine } from '@aegis/protocol';
import { useEffect, useState } from 'react';
import { DiagnosticsFeed, type Diagnostic } from '@/lib/build/diagnostics';
import { emptyLog, LogLines, type LogSnapshot } from '@/lib/build/log-lines';
import { DiagnosticsList } from './diagnostics-list';
import { LogView } from './log-view';

/** What the browser test calls: window.__logFeed.live(lines) is one live `log` frame from the machine. */
export interface LogFeed {
  live(lines: LogLine[]): void;
}

/** The build page's log panels on a fake stream (the same LogLines → IncrementalDiagnostics → view path). */
export function LogViewHarness() {
  const [state, setState] = useState<{ log: LogSnapshot; diagnostics: Diagnostic[] }>(() => ({
    log: emptyLog(),
    diagnostics: [],
  }));
  const [jump, setJump] = useState<{ seq: number } | null>(null);
  useEffect(() => {
    const diagnostics = new DiagnosticsFeed({ publish: (d) => setState((s) => ({ ...s, diagnostics: d })) });
    const log = new LogLines({
      publish: (snapshot, fresh) => {
        setState((s) => ({ ...s, log: snapshot }));
        diagnostics.push(fresh);
      },
    });
    const feed: LogFeed = { live: (lines) => log.live(lines) };
    (window as unknown as { __logFeed?: LogFeed }).__logFeed = feed;
    return () => {
      delete (window as unknown as { __logFeed?: LogFeed }).__logFeed;
    };
  }, []);
  return (
    <>
      <DiagnosticsList items={state.diagnostics} onJump={(seq) => setJump({ seq })} />
      <div className="panel">
        <LogView log={state.log} jumpTo={jump} />
      </div>
    </>
  );
}
