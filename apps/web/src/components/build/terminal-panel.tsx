'use client';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import type { LiveBuild } from '@/lib/build/live-build';
import { PtyClient, wrapBrowserDataChannel } from '@aegis/peer/browser';

type Command = 'shell' | 'menuconfig';
type TermState = 'closed' | 'starting' | 'open' | 'exited';

/**
 * Why this session has no terminal, or null when it has one. A terminal needs the `pty` channel: the machine
 * serves it only to the session that started the build; a reattachment is read-only (log, results, firmware),
 * its grant names no `pty` and the machine would refuse it. A `pty` channel the machine closed is gone too.
 */
export function terminalUnavailable(build: LiveBuild, ptyClosed: boolean): string | null {
  const dc = build.link?.channels.pty;
  if (build.kind === 'attach' || !dc)
    return 'This page reattached to the build, and a reattached session is read-only: it can read the log, results and firmware, but the build machine opens a terminal only for the session that started the build. Start a new build to get a shell or menuconfig.';
  if (ptyClosed || dc.readyState === 'closing' || dc.readyState === 'closed')
    return 'The build machine closed the terminal channel (the build session ended). Start a new build to get a shell or menuconfig.';
  return null;
}

/**
 * xterm.js over the `pty` channel: a shell (or menuconfig) inside the job's sandbox on the build machine.
 * The machine runs one terminal per channel at a time; once it exits, Enter in the terminal (or a button) opens
 * a fresh one in the same workspace, in the same xterm view. Sessions without a terminal say why instead of
 * offering buttons that could only hang.
 */
export function TerminalPanel({ build }: { build: LiveBuild }) {
  const host = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(false);
  const [state, setState] = useState<TermState>('closed');
  const [note, setNote] = useState<string | null>(null);
  const [command, setCommand] = useState<Command>('shell');
  /** Set while the xterm view is up: sends `open` for a fresh terminal. */
  const openRef = useRef<((c: Command) => void) | null>(null);
  /** The command asked for before the view existed. */
  const firstCommand = useRef<Command>('shell');
  const dc = build.link?.channels.pty;
  const limits = build.link?.limits;
  const [ptyClosed, setPtyClosed] = useState(false);
  useEffect(() => {
    if (!dc) return;
    const onClose = () => setPtyClosed(true);
    if (dc.readyState === 'closed') setPtyClosed(true);
    dc.addEventListener('close', onClose);
    return () => dc.removeEventListener('close', onClose);
  }, [dc]);
  const unavailable = terminalUnavailable(build, ptyClosed);

  useEffect(() => {
    if (!shown || !host.current || !dc) return;
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
      // The xterm callbacks outlive renders, so they read the current state from here rather than from React.
      let current: TermState = 'closed';
      let last: Command = firstCommand.current;
      const set = (s: TermState) => {
        current = s;
        setState(s);
      };
      const pty = new PtyClient(wrapBrowserDataChannel(dc), limits);
      pty.onData((b) => {
        if (current === 'starting') set('open');
        term.write(b);
      });
      pty.onExit(({ code }) => {
        set('exited');
        const how = code === null ? '' : ` with code ${code}`;
        term.write(`\r\n\x1b[2m[${last} exited${how}; press Enter to open a new ${last}]\x1b[0m\r\n`);
        setNote(`The ${last} exited${how}. Press Enter in the terminal or “Open shell” to start a new one.`);
      });
      pty.onError((m) => {
        // A terminal prints before anything else can go wrong, so an error before its first byte means it
        // did not start: leave the way open to try again.
        if (current === 'starting') set('exited');
        setNote(m);
      });
      // A send fails only when the channel closed; the connection's own state says so on the page.
      const ignore = () => undefined;
      const open = (c: Command) => {
        last = c;
        setCommand(c);
        setNote(null);
        set('starting');
        pty.open({ cols: term.cols, rows: term.rows, command: c }).catch(ignore);
        term.focus();
      };
      openRef.current = open;
      const sub = term.onData((d) => {
        if (current === 'exited') {
          if (d === '\r' || d === '\n') open(last);
          return;
        }
        pty.write(d).catch(ignore);
      });
      const onResize = () => {
        fit.fit();
        pty.resize(term.cols, term.rows).catch(ignore);
      };
      window.addEventListener('resize', onResize);
      open(last);
      cleanup = () => {
        openRef.current = null;
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
  }, [shown, dc, limits]);

  const start = (c: Command) => {
    if (openRef.current) openRef.current(c);
    else {
      firstCommand.current = c;
      setShown(true);
    }
  };
  const running = state === 'starting' || state === 'open';

  return (
    <section className="panel" aria-labelledby="term-h">
      <div className="row" style={{ justifyContent: 'space-between', marginBottom: '0.5rem' }}>
        <h2 id="term-h" style={{ margin: 0 }}>
          Terminal
        </h2>
        {!running && !unavailable && (
          <div className="row">
            <button type="button" onClick={() => start('shell')} disabled={!dc}>
              Open shell
            </button>
            <button type="button" onClick={() => start('menuconfig')} disabled={!dc}>
              idf.py menuconfig
            </button>
          </div>
        )}
        {running && !unavailable && (
          <span className="small muted" data-testid="terminal-state">
            {command === 'menuconfig' ? 'idf.py menuconfig' : 'shell'} {state === 'starting' ? 'starting…' : 'running'}
          </span>
        )}
      </div>
      {note && (
        <p className="small muted" role="status">
          {note}
        </p>
      )}
      {unavailable && (
        <p className="alert info" role="status" data-testid="terminal-unavailable">
          {unavailable}
        </p>
      )}
      {shown ? (
        <div ref={host} className="term" data-testid="terminal" aria-label="Terminal on the build machine" />
      ) : unavailable ? null : (
        <p className="muted small">A shell inside this build&apos;s sandbox on the build machine (no network).</p>
      )}
    </section>
  );
}
