'use client';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import type { LiveBuild } from '@/lib/build/live-build';
import { PtyClient } from '@/lib/rtc/pty-client';

/** xterm.js over the `pty` channel: a shell (or menuconfig) inside the job's sandbox on the build machine. */
export function TerminalPanel({ build }: { build: LiveBuild }) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'closed' | 'open' | 'exited'>('closed');
  const [note, setNote] = useState<string | null>(null);
  const [command, setCommand] = useState<'shell' | 'menuconfig' | null>(null);

  useEffect(() => {
    const dc = build.link?.channels.pty;
    if (!command || !host.current || !dc) return;
    let disposed = false;
    let cleanup = () => {};
    void (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]);
      if (disposed || !host.current) return;
      const term = new Terminal({
        convertEol: false,
        cursorBlink: true,
        fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
        fontSize: 13,
        theme: { background: '#0d1117' },
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(host.current);
      fit.fit();
      const pty = new PtyClient(dc, {
        onData: (b) => term.write(b),
        onExit: (code) => {
          setState('exited');
          // The machine runs one terminal per connection; reopening the build page connects afresh.
          setNote(
            `The ${command} exited${code === null ? '' : ` with code ${code}`}. Reload this page to open another terminal.`,
          );
        },
        onError: (m) => setNote(m),
      });
      pty.open(term.cols, term.rows, command);
      setState('open');
      const sub = term.onData((d) => pty.write(d));
      const onResize = () => {
        fit.fit();
        pty.resize(term.cols, term.rows);
      };
      window.addEventListener('resize', onResize);
      term.focus();
      cleanup = () => {
        pty.dispose();
        sub.dispose();
        window.removeEventListener('resize', onResize);
        term.dispose();
      };
    })();
    return () => {
      disposed = true;
      cleanup();
    };
  }, [command, build]);

  return (
    <section className="panel" aria-labelledby="term-h">
      <div className="row" style={{ justifyContent: 'space-between', marginBottom: '0.5rem' }}>
        <h2 id="term-h" style={{ margin: 0 }}>
          Terminal
        </h2>
        {state === 'closed' && (
          <div className="row">
            <button
              type="button"
              onClick={() => (setCommand(null), setTimeout(() => setCommand('shell'), 0))}
              disabled={!build.link}
            >
              Open shell
            </button>
            <button
              type="button"
              onClick={() => (setCommand(null), setTimeout(() => setCommand('menuconfig'), 0))}
              disabled={!build.link}
            >
              idf.py menuconfig
            </button>
          </div>
        )}
      </div>
      {note && (
        <p className="small muted" role="status">
          {note}
        </p>
      )}
      {command ? (
        <div ref={host} className="term" data-testid="terminal" aria-label="Terminal on the build machine" />
      ) : (
        <p className="muted small">A shell inside this build&apos;s sandbox on the build machine (no network).</p>
      )}
    </section>
  );
}
