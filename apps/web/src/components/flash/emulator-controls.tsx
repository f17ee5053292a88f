'use client';
import { EMULATOR_DEFAULT_SECONDS } from '@aegis/protocol';
import { useEffect, useRef, useState } from 'react';
import {
  EMULATED_CHIP_LABEL,
  EmulatorImageError,
  checkEmulatorImage,
  type EmulatorBoard,
  type EmulatorImage,
} from '@/lib/flash/emulator-board';
import { useEmulatorRun } from '@/lib/flash/use-board';
import { exitText } from '@aegis/peer/browser';

const LIMITS = [30, 60, EMULATOR_DEFAULT_SECONDS, 900, 3600];

/**
 * Run / Stop for the emulated board, its time limit, why the last run ended, and an optional flash image of the
 * user's own (a merged .bin from offset 0) to run instead of the build's.
 */
export function EmulatorControls({ emulator }: { emulator: EmulatorBoard }) {
  const run = useEmulatorRun(emulator);
  const [seconds, setSeconds] = useState(EMULATOR_DEFAULT_SECONDS);
  const [image, setImage] = useState<EmulatorImage | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  // Shown when the emulated board is chosen: open its channel now, so the machine readies the run's sandbox.
  useEffect(() => emulator.prepare(), [emulator]);
  if (!run) return null;
  const pick = async (file: File | undefined) => {
    setImage(null);
    setImageError(null);
    if (!file) return;
    try {
      setImage(checkEmulatorImage(file.name, new Uint8Array(await file.arrayBuffer())));
    } catch (e) {
      setImageError(e instanceof EmulatorImageError ? e.message : `${file.name} could not be read: ${String(e)}`);
      if (fileInput.current) fileInput.current.value = '';
    }
  };
  const useBuildImage = () => {
    setImage(null);
    setImageError(null);
    if (fileInput.current) fileInput.current.value = '';
  };
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
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => void emulator.run(seconds, image ?? undefined)}
          >
            {run.phase === 'starting' ? 'Starting…' : 'Run'}
          </button>
        )}
      </div>
      <div className="field" style={{ marginTop: '0.5rem' }}>
        <label htmlFor="emu-image">Flash image to run instead (optional, merged .bin from offset 0)</label>
        <input
          id="emu-image"
          ref={fileInput}
          type="file"
          accept=".bin,application/octet-stream"
          disabled={live || busy}
          onChange={(e) => void pick(e.target.files?.[0])}
        />
      </div>
      {image && (
        <p className="small" data-testid="emulator-image" style={{ margin: '0.25rem 0 0' }}>
          Runs {image.name} ({EMULATED_CHIP_LABEL[image.chip]}, {(image.bytes.length / 1024 / 1024).toFixed(1)} MiB)
          instead of this build’s image.{' '}
          <button type="button" disabled={live || busy} onClick={useBuildImage}>
            Use this build’s image
          </button>
        </p>
      )}
      {imageError && (
        <p className="alert error" role="alert" data-testid="emulator-image-error">
          {imageError}
        </p>
      )}
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
