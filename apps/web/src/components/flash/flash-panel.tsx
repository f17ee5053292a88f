'use client';
import type { BundleTrust, FlashBundleInput } from '@aegis/flasher';
import { useEffect, useRef, useState } from 'react';
import type { LiveBuild } from '@/lib/build/live-build';
import { boardSession } from '@/lib/flash/board-session';
import { EMULATED_CHIP_LABEL, type EmulatorBoard } from '@/lib/flash/emulator-board';
import { useBoard } from '@/lib/flash/use-board';
import { virtualBoardTakes } from '@/lib/flash/virtual-board';
import { webSerialProblem } from '@/lib/flash/web-serial';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '../error-box';
import { EmulatorControls } from './emulator-controls';
import { MonitorPanel } from './monitor-panel';

const BAUDS = [115200, 230400, 460800, 921600, 1500000];

/** Connect, check the chip, flash every part with progress and rate, verify, reset; then the monitor. */
export function FlashPanel({
  prepare,
  ready,
  hasSignature,
  publicJwk,
  decodeWith,
  autoStart,
  onFlashed,
  chip,
  emulator,
}: {
  /** Fetches the bundle (over the firmware channel, or from a file). */
  prepare: () => Promise<FlashBundleInput>;
  ready: boolean;
  hasSignature: boolean;
  publicJwk: Record<string, unknown> | null;
  /** The build whose ELF decodes backtraces (null: no decoding). */
  decodeWith: LiveBuild | null;
  autoStart?: boolean;
  onFlashed?: (ok: boolean, message: string) => void;
  /** The firmware's chip, when known: the virtual board is offered only for the chip it simulates. */
  chip?: string | null;
  /** The build's emulator, when its machine can run this firmware (BuildStatus.emulator). */
  emulator?: { board: EmulatorBoard; chip: 'esp32c3' | 'esp32' } | null;
}) {
  const board = boardSession();
  const st = useBoard(board);
  const [serialProblem, setSerialProblem] = useState<string | null>(null);
  const [baud, setBaud] = useState(921600);
  const [diff, setDiff] = useState(true);
  const [allowUnsigned, setAllowUnsigned] = useState(false);
  const [prepError, setPrepError] = useState<unknown>(null);
  const [preparing, setPreparing] = useState(false);
  const busy = preparing || st.phase === 'flashing';

  useEffect(() => setSerialProblem(webSerialProblem()), []);

  const emulatorBoard = emulator?.board ?? null;
  const virtualOffered = virtualBoardTakes(chip);
  useEffect(() => {
    board.offerEmulator(emulatorBoard);
    // Leaving the build's page unplugs its emulated board (the run stops, freeing the machine's slot).
    return () => board.offerEmulator(null);
  }, [board, emulatorBoard]);
  // The board chosen must be one offered here: else the emulator when there is one, else USB.
  useEffect(() => {
    if (busy) return;
    if ((st.kind === 'virtual' && !virtualOffered) || (st.kind === 'emulator' && !emulatorBoard))
      board.setKind(emulatorBoard ? 'emulator' : virtualOffered ? 'virtual' : 'serial');
  });

  const signed = hasSignature && !!publicJwk;
  const canFlash = ready && (signed || allowUnsigned);

  async function doFlash() {
    if (board.store.get().kind === 'emulator') return;
    setPrepError(null);
    setPreparing(true);
    try {
      const bundle = await prepare();
      const trust: BundleTrust = signed ? { publicJwk: publicJwk as JsonWebKey } : { allowUnsigned: true };
      setPreparing(false);
      await board.flash(bundle, trust, { baud, diff });
      const s = board.store.get();
      onFlashed?.(s.phase === 'flashed', s.error?.message ?? 'flashed and verified');
    } catch (e) {
      setPrepError(e);
      onFlashed?.(false, (e as Error).message);
    } finally {
      setPreparing(false);
    }
  }

  // The hand-off confirmed by the user starts the flash once, as soon as the firmware can be fetched.
  const autoStarted = useRef(false);
  useEffect(() => {
    if (!autoStart || !canFlash || autoStarted.current || board.store.get().phase === 'flashing') return;
    if (board.store.get().kind === 'emulator') board.setKind(virtualOffered ? 'virtual' : 'serial');
    autoStarted.current = true;
    void doFlash();
  }, [autoStart, canFlash]);

  return (
    <section className="panel" aria-labelledby="flash-h" data-testid="flash-panel">
      <h2 id="flash-h">Flash</h2>
      <fieldset>
        <legend>Board</legend>
        <div className="row" role="radiogroup" aria-label="Board">
          <label className="check">
            <input
              type="radio"
              name="board"
              checked={st.kind === 'serial'}
              disabled={!!serialProblem || busy}
              onChange={() => board.setKind('serial')}
            />
            USB board (Web Serial)
          </label>
          {virtualOffered && (
            <label className="check">
              <input
                type="radio"
                name="board"
                checked={st.kind === 'virtual'}
                disabled={busy}
                onChange={() => board.setKind('virtual')}
              />
              Virtual board (simulated ESP32-C3 in this tab)
            </label>
          )}
          {emulator && (
            <label className="check">
              <input
                type="radio"
                name="board"
                checked={st.kind === 'emulator'}
                disabled={busy}
                onChange={() => board.setKind('emulator')}
              />
              Emulated {EMULATED_CHIP_LABEL[emulator.chip]} (runs your firmware on the build machine)
            </label>
          )}
          {st.kind === 'virtual' && st.virtualWhere && (
            <span className="small muted" data-testid="virtual-where">
              {st.virtualWhere === 'worker' ? 'runs in a Web Worker' : 'runs on the page'}
            </span>
          )}
        </div>
        {serialProblem && (
          <p className="alert warn" role="status" data-testid="web-serial-missing" style={{ marginTop: '0.75rem' }}>
            {serialProblem}
          </p>
        )}
      </fieldset>
      {st.kind === 'emulator' && emulatorBoard && <EmulatorControls emulator={emulatorBoard} />}
      {st.kind !== 'emulator' && (
        <>
          <div className="row" style={{ alignItems: 'flex-end', marginBottom: '0.75rem' }}>
            <div className="field">
              <label htmlFor="baud">Baud</label>
              <select id="baud" value={baud} onChange={(e) => setBaud(Number(e.target.value))} disabled={busy}>
                {BAUDS.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </div>
            <label className="check">
              <input type="checkbox" checked={!diff} onChange={(e) => setDiff(!e.target.checked)} disabled={busy} />
              Rewrite every sector (skip the sector-diff)
            </label>
            {!signed && (
              <label className="check">
                <input type="checkbox" checked={allowUnsigned} onChange={(e) => setAllowUnsigned(e.target.checked)} />
                Flash without checking the machine&apos;s signature
              </label>
            )}
            <button type="button" className="primary" disabled={!canFlash || busy} onClick={() => void doFlash()}>
              {busy ? 'Flashing…' : st.kind === 'virtual' ? 'Flash the virtual board' : 'Connect and flash'}
            </button>
          </div>
          <p className="small muted">
            {signed
              ? 'The bundle signature is checked with the build machine’s key before anything is written.'
              : 'The build machine’s signing key is not known here, so the signature cannot be checked.'}
            {st.kind === 'serial' &&
              ' If the board does not answer, hold BOOT, press RESET, release BOOT, and try again.'}
          </p>
        </>
      )}
      <ErrorBox error={prepError} title="The firmware could not be prepared" />
      {Object.values(st.progress).length > 0 && (
        <ul className="parts" style={{ listStyle: 'none', padding: 0 }} aria-label="Progress per part">
          {Object.values(st.progress).map((p) => (
            <li key={p.part} style={{ marginBottom: '0.5rem' }}>
              <div className="row small" style={{ justifyContent: 'space-between' }}>
                <strong>{p.part}</strong>
                <span>
                  {p.percent.toFixed(0)} % · {formatBytes(p.bytesWritten)} / {formatBytes(p.total)}
                  {p.bytesPerSec > 0 ? ` · ${formatBytes(p.bytesPerSec)}/s` : ''}
                </span>
              </div>
              <div
                className="progress"
                role="progressbar"
                aria-valuenow={p.percent}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-label={`${p.part} written`}
              >
                <span style={{ width: `${p.percent}%` }} />
              </div>
            </li>
          ))}
        </ul>
      )}
      {st.error && (
        <ErrorBox
          error={st.error}
          title={st.error.code === 'no_sync' ? 'The board is not in download mode' : 'Flashing failed'}
        />
      )}
      {st.result && (
        <div className="alert info" role="status" data-testid="flash-result">
          <strong>Flashed and verified ✓</strong>
          {st.result.chipDescription}, {st.result.flashSize / 1048576} MB flash, {st.result.baud} baud,{' '}
          {(st.result.durationMs / 1000).toFixed(1)} s.
          <ul className="small" style={{ margin: '0.4rem 0 0' }}>
            {st.result.parts.map((p) => (
              <li key={p.name}>
                {p.name} @ 0x{p.offset.toString(16)}: {formatBytes(p.size)},{' '}
                {p.mode === 'full'
                  ? 'written in full'
                  : `${p.sectorsWritten} changed sector${p.sectorsWritten === 1 ? '' : 's'} written`}
                , MD5 verified
              </li>
            ))}
          </ul>
        </div>
      )}
      <MonitorPanel build={decodeWith} />
    </section>
  );
}
