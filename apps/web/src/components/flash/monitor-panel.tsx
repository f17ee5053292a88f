'use client';
import '@xterm/xterm/css/xterm.css';
import type { DecodedFrame } from '@aegis/protocol';
import type { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import type { LiveBuild } from '@/lib/build/live-build';
import { backtraceAddresses } from '@/lib/flash/backtrace';
import { boardSession } from '@/lib/flash/board-session';
import { useBoard, useEmulatorRun } from '@/lib/flash/use-board';

const BAUDS = [9600, 57600, 115200, 230400, 460800, 921600];
const KEEP_CHARS = 64 * 1024;

/** Serial monitor in xterm.js: baud, reset, clear; panics' addresses decoded by the build machine. */
export function MonitorPanel({ build }: { build: LiveBuild | null }) {
  const board = boardSession();
  const st = useBoard(board);
  const emu = useEmulatorRun(st.kind === 'emulator' ? st.emulator : null);
  const emulated = st.kind === 'emulator';
  const open = emulated ? emu?.phase === 'running' || emu?.phase === 'resetting' : st.monitoring;
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const text = useRef('');
  const [baud, setBaud] = useState(115200);
  const [addresses, setAddresses] = useState<string[]>([]);
  const [frames, setFrames] = useState<DecodedFrame[] | null>(null);
  const [decodeError, setDecodeError] = useState<string | null>(null);

  useEffect(() => {
    let disposed = false;
    let off = () => {};
    void (async () => {
      const { Terminal } = await import('@xterm/xterm');
      const { FitAddon } = await import('@xterm/addon-fit');
      if (disposed || !host.current) return;
      const t = new Terminal({
        convertEol: true,
        fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
        fontSize: 13,
        rows: 16,
        theme: { background: '#0d1117' },
      });
      const fit = new FitAddon();
      t.loadAddon(fit);
      t.open(host.current);
      fit.fit();
      term.current = t;
      const dec = new TextDecoder();
      const offData = board.onSerialData((b) => {
        t.write(b);
        text.current = (text.current + dec.decode(b, { stream: true })).slice(-KEEP_CHARS);
        const found = backtraceAddresses(text.current);
        setAddresses((prev) => (found.length !== prev.length ? found : prev));
      });
      const input = t.onData((d) => void board.write(new TextEncoder().encode(d)));
      const onResize = () => fit.fit();
      window.addEventListener('resize', onResize);
      off = () => {
        offData();
        input.dispose();
        window.removeEventListener('resize', onResize);
        t.dispose();
      };
    })();
    return () => {
      disposed = true;
      off();
    };
  }, [board]);

  async function decode() {
    setDecodeError(null);
    try {
      if (!build?.espctl) throw new Error('Decoding needs the build machine connection; reopen the build first.');
      const r = await build.espctl.call('decode', { addresses });
      setFrames(r.frames);
    } catch (e) {
      setDecodeError((e as Error).message);
    }
  }

  return (
    <section aria-labelledby="mon-h" style={{ marginTop: '1rem' }}>
      <div className="row" style={{ marginBottom: '0.5rem' }}>
        <h3 id="mon-h" style={{ margin: 0 }}>
          Monitor{' '}
          <span className={`badge ${open ? 'online' : 'offline'}`} data-testid="monitor-state">
            {emulated ? (open ? 'running' : 'stopped') : open ? 'open' : 'closed'}
          </span>
        </h3>
        {!emulated && (
          <>
            <label htmlFor="mon-baud" className="sr-only">
              Monitor baud
            </label>
            <select id="mon-baud" value={baud} onChange={(e) => setBaud(Number(e.target.value))}>
              {BAUDS.map((b) => (
                <option key={b} value={b}>
                  {b} baud
                </option>
              ))}
            </select>
            {st.monitoring ? (
              <button type="button" onClick={() => void board.stopMonitor()}>
                Disconnect
              </button>
            ) : (
              <button
                type="button"
                onClick={() => void board.startMonitor(baud, false)}
                disabled={st.phase === 'flashing' || st.phase === 'working'}
              >
                Connect
              </button>
            )}
          </>
        )}
        <button
          type="button"
          onClick={() => void board.reset()}
          disabled={emulated ? emu?.phase !== 'running' : st.phase === 'flashing' || st.phase === 'working'}
        >
          Reset board
        </button>
        <button
          type="button"
          onClick={() => {
            term.current?.clear();
            text.current = '';
            setAddresses([]);
            setFrames(null);
          }}
        >
          Clear
        </button>
      </div>
      {st.monitorError && (
        <p className="alert error" role="alert">
          {st.monitorError}
        </p>
      )}
      <div ref={host} className="term" data-testid="monitor" aria-label="Serial monitor output" />
      {addresses.length > 0 && (
        <div className="alert warn" style={{ marginTop: '0.75rem' }}>
          <strong>
            The board printed a backtrace ({addresses.length} {addresses.length === 1 ? 'address' : 'addresses'}).
          </strong>
          <button type="button" onClick={() => void decode()} style={{ marginTop: '0.4rem' }}>
            Decode with the build&apos;s ELF
          </button>
          {decodeError && <p className="small">{decodeError}</p>}
          {frames && (
            <ol className="mono small" data-testid="decoded-frames">
              {frames.map((f, i) => (
                <li key={i}>
                  {f.address} {f.function ?? '??'}{' '}
                  {f.file ? `at ${f.file.replace(/^.*?\/(main|components)\//, '$1/')}:${f.line ?? '?'}` : ''}
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </section>
  );
}
