'use client';
import type { BundleTrust, FlashBundleInput } from '@aegis/flasher';
import { useEffect, useRef, useState } from 'react';
import type { LiveBuild } from '@/lib/build/live-build';
import { boardSession, type BoardState } from '@/lib/flash/board-session';
import { checkDiyLayout, diyBundle, type DiyFile } from '@/lib/flash/diy-layout';
import { EMULATED_CHIP_LABEL, type EmulatorBoard } from '@/lib/flash/emulator-board';
import { jwsKid, useBundleKey, type BundleKey } from '@/lib/flash/machine-keys';
import { useBoard } from '@/lib/flash/use-board';
import { virtualBoardTakes } from '@/lib/flash/virtual-board';
import { webSerialProblem } from '@/lib/flash/web-serial';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '../error-box';
import { BoardTools } from './board-tools';
import { DiyFiles } from './diy-files';
import { EmulatorControls } from './emulator-controls';
import { MonitorPanel } from './monitor-panel';

const BAUDS = [115200, 230400, 460800, 921600, 1500000];

/** What the board is doing, for the status line beside Cancel. */
function stepText(st: BoardState): string {
  switch (st.step) {
    case 'choosing-port':
      return 'Choose the board’s port in the browser’s dialog…';
    case 'connecting':
      return st.kind === 'virtual' ? 'Connecting to the virtual board…' : 'Connecting to the board…';
    case 'erasing':
      return 'Erasing the whole flash…';
    case 'reading':
      return 'Reading flash…';
    case 'writing':
      return 'Writing…';
    default:
      return st.phase === 'flashing' ? 'Preparing…' : 'Working…';
  }
}

/** The signature line: which machine's key checks the bundle, or why it cannot be checked. */
function SignatureStatus({ k }: { k: BundleKey }) {
  switch (k.state) {
    case 'found':
      return (
        <p className="small" data-testid="signature-status">
          ✓ Signed by build machine <strong>{k.key.machine_name}</strong> (key <span className="mono">{k.key.kid}</span>
          ). The bundle signature is checked with the build machine’s key before anything is written.
        </p>
      );
    case 'loading':
      return (
        <p className="small muted" data-testid="signature-status">
          Looking up the build machine’s signing key…
        </p>
      );
    case 'unsigned':
      return (
        <p className="alert warn" data-testid="signature-status">
          This firmware carries no signature, so nothing proves which build machine made it.
        </p>
      );
    default:
      return (
        <div className="alert error" role="alert" data-testid="signature-refused">
          <strong>Refused: the signature cannot be checked</strong>
          {k.message}
        </div>
      );
  }
}

/**
 * Connect, check the chip, flash every part with progress and rate, verify, reset; then the monitor.
 * With `diy`, the firmware is .bin files at offsets the user picks (ESP Launchpad's DIY mode) for the chip the
 * connected board reports; otherwise it is a signed bundle whose JWS `kid` names the build machine's key.
 */
export function FlashPanel({
  prepare,
  ready,
  jws,
  linkJwk,
  diy,
  decodeWith,
  autoStart,
  onFlashed,
  chip,
  emulator,
}: {
  /** Fetches the bundle (over the firmware channel, or from a file). Unused in DIY mode. */
  prepare?: () => Promise<FlashBundleInput>;
  ready: boolean;
  /** The bundle's manifest.jws (null: unsigned); its `kid` picks the key among the machines' published keys. */
  jws?: string | null;
  /** The machine's key as the live link announced it (`assigned` event): used when its kid is the JWS's. */
  linkJwk?: Record<string, unknown> | null;
  /** DIY mode: flash .bin files at chosen offsets instead of a bundle. */
  diy?: boolean;
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
  const [diyFiles, setDiyFiles] = useState<DiyFile[]>([]);
  const [diyProblems, setDiyProblems] = useState<string[]>([]);
  const busy = preparing || st.phase === 'flashing' || st.phase === 'working';
  const cancellable = st.step === 'choosing-port' || st.step === 'connecting';

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

  // The link's own key counts only when it is the key the signature names.
  const fromLink = !!jws && !!linkJwk && typeof linkJwk.kid === 'string' && linkJwk.kid === jwsKid(jws);
  const looked = useBundleKey(fromLink || diy ? null : jws);
  const key: BundleKey = diy
    ? { state: 'unsigned' }
    : fromLink
      ? {
          state: 'found',
          key: {
            kid: linkJwk!.kid as string,
            machine_id: decodeWith?.link?.machineId ?? '',
            machine_name: decodeWith?.link?.machineName ?? 'of this build',
            online: true,
            public_jwk: linkJwk!,
          },
        }
      : looked;
  const signed = key.state === 'found';
  const diyCheck = diy ? checkDiyLayout(diyFiles, st.identity?.flashSize ?? null) : null;
  const canFlash = diy ? diyFiles.length > 0 : ready && (signed || allowUnsigned);

  async function flashDiy() {
    let id = board.store.get().identity;
    if (!id) id = await board.identify(baud);
    if (!id) return;
    const checked = checkDiyLayout(diyFiles, id.flashSize);
    if (!checked.ok) {
      setDiyProblems(checked.problems);
      return;
    }
    setDiyProblems([]);
    // Files the user picked carry no machine signature: DIY mode is the explicit "flash what I give you".
    await board.flash(await diyBundle(checked.parts, id.chip), { allowUnsigned: true }, { baud, diff });
  }

  async function doFlash() {
    if (board.store.get().kind === 'emulator') return;
    setPrepError(null);
    if (diy) {
      const pre = checkDiyLayout(diyFiles, board.store.get().identity?.flashSize ?? null);
      if (!pre.ok) return setDiyProblems(pre.problems);
      return flashDiy();
    }
    setPreparing(true);
    try {
      const bundle = await prepare!();
      const trust: BundleTrust =
        key.state === 'found' ? { publicJwk: key.key.public_jwk as JsonWebKey } : { allowUnsigned: true };
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
          {diy && (
            <>
              <p className="small" data-testid="diy-chip">
                {st.identity ? (
                  <>
                    Connected board: <strong>{st.identity.chipDescription}</strong>, {st.identity.flashSize / 1048576}{' '}
                    MB flash. Files are flashed for this chip.
                  </>
                ) : (
                  'The chip is detected when the board connects (or press “Detect chip” first to check offsets against its flash size).'
                )}{' '}
                <button type="button" disabled={busy} onClick={() => void board.identify(baud)}>
                  Detect chip
                </button>
              </p>
              <DiyFiles
                files={diyFiles}
                disabled={busy}
                onChange={(f) => {
                  setDiyFiles(f);
                  setDiyProblems([]);
                }}
              />
              {(diyProblems.length > 0 || (diyCheck && !diyCheck.ok && diyFiles.length > 0)) && (
                <div className="alert error" role="alert" data-testid="diy-problems">
                  <strong>These files cannot be flashed as they are</strong>
                  <ul style={{ margin: 0 }}>
                    {(diyProblems.length > 0 ? diyProblems : diyCheck && !diyCheck.ok ? diyCheck.problems : []).map(
                      (p) => (
                        <li key={p}>{p}</li>
                      ),
                    )}
                  </ul>
                </div>
              )}
            </>
          )}
          {!diy && jws !== undefined && <SignatureStatus k={key} />}
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
            {!signed && !diy && (
              <label className="check">
                <input type="checkbox" checked={allowUnsigned} onChange={(e) => setAllowUnsigned(e.target.checked)} />
                Flash without checking the machine&apos;s signature
              </label>
            )}
            <button
              type="button"
              className="primary"
              disabled={!canFlash || busy || (diy && !!diyCheck && !diyCheck.ok)}
              onClick={() => void doFlash()}
            >
              {busy
                ? st.phase === 'working'
                  ? 'Working…'
                  : 'Flashing…'
                : st.kind === 'virtual'
                  ? 'Flash the virtual board'
                  : 'Connect and flash'}
            </button>
          </div>
          {busy && (
            <div className="row" role="status" data-testid="board-step" style={{ marginBottom: '0.75rem' }}>
              <span className="small">{stepText(st)}</span>
              {cancellable && (
                <button type="button" onClick={() => board.cancel()}>
                  Cancel
                </button>
              )}
            </div>
          )}
          {st.cancelled && (
            <p className="alert info" role="status" data-testid="board-cancelled">
              {st.cancelled}
            </p>
          )}
          {st.kind === 'serial' && (
            <p className="small muted">
              If the board does not answer, hold BOOT, press RESET, release BOOT, and try again.
            </p>
          )}
          <BoardTools board={board} baud={baud} busy={busy} />
          {st.opResult && st.opResult.kind !== 'identified' && (
            <p className="alert info" role="status" data-testid="board-op-result">
              {st.opResult.kind === 'erased'
                ? `Flash erased: ${st.opResult.identity.chipDescription}, ${st.opResult.identity.flashSize / 1048576} MB now all 0xFF.`
                : `Read ${formatBytes(st.opResult.data?.length ?? 0)} from 0x${(st.opResult.offset ?? 0).toString(16)} of the ${st.opResult.identity.chipDescription}; saved as a .bin file.`}
            </p>
          )}
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
          title={
            st.error.code === 'no_sync'
              ? 'The board is not in download mode'
              : st.error.code === 'bad_signature'
                ? 'Refused: the signature does not match this bundle'
                : 'Flashing failed'
          }
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
