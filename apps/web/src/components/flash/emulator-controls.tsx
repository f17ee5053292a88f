'use client';
import { EMULATOR_DEFAULT_SECONDS } from '@aegis/protocol';
import { useState } from 'react';
import { EMULATED_CHIP_LABEL, type EmulatorBoard } from '@/lib/flash/emulator-board';
import { useEmulatorRun } from '@/lib/flash/use-board';
import { exitText } from '@/lib/rtc/emulator-client';

const LIMITS = [30, 60, EMULATOR_DEFAULT_SECONDS, 900, 3600];

/** Run / Stop for the emulated board, its time limit, and why the last run ended. */
export function EmulatorControls({ emulator }: { emulator: EmulatorBoard }) {
  const run = useEmulatorRun(emulator);
  const [seconds, setSeconds] = useState(EMULATOR_DEFAULT_SECONDS);
  if (!run) return null;
  const live = run.phase === 'running' || run.phase === 'resetting';
  const busy = run.phase === 'starting' || run.phase === 'stopping';
  return (
    <div data-testid="emulator-controls" style={{ marginBottom: '0.75rem' }}>
      <div className="row" style={{ alignItems: 'flex-end' }}>
        <div className="field">
          <label htmlFor="emu-seconds">Stop after</label>
          <select
            id="emu-seconds"
            value={seconds}
            onChange={(e) => setSeconds(Number(e.target.value))}
            disabled={live || busy}
          >
            {LIMITS.map((s) => (
              <option key={s} value={s}>
                {s < 60 ? `${s} s` : `${s / 60} min`}
              </option>
            ))}
          </select>
        </div>
        {live || run.phase === 'stopping' ? (
          <button type="button" className="danger" disabled={busy} onClick={() => void emulator.stop()}>
            {run.phase === 'stopping' ? 'Stopping…' : 'Stop'}
          </button>
        ) : (
          <button type="button" className="primary" disabled={busy} onClick={() => void emulator.run(seconds)}>
            {run.phase === 'starting' ? 'Starting…' : 'Run'}
          </button>
        )}
      </div>
      <p className="small muted" role="status" data-testid="emulator-state" style={{ margin: '0.5rem 0 0' }}>
        {run.phase === 'idle' &&
          'The build machine boots this build’s image in QEMU; the monitor below shows its UART.'}
        {run.phase === 'starting' && 'Starting the emulator on the build machine…'}
        {live &&
          run.chip &&
          `Emulated ${EMULATED_CHIP_LABEL[run.chip]} running on the build machine (stops after ${run.seconds} s)${
            run.phase === 'resetting' ? ', rebooting…' : ''
          }.`}
        {run.phase === 'stopping' && 'Stopping…'}
        {run.phase === 'ended' && run.exit && <span data-testid="emulator-exit">Ended: {exitText(run.exit)}.</span>}
      </p>
      {run.error && (
        <p className="alert error" role="alert" data-testid="emulator-error">
          {run.error.message}
        </p>
      )}
    </div>
  );
}
