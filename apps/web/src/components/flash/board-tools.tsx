'use client';
import { useState } from 'react';
import type { BoardSession } from '@/lib/flash/board-session';
import { parseHexOffset } from '@/lib/flash/diy-layout';
import { useBoard } from '@/lib/flash/use-board';
import { saveFile } from '@/lib/save-file';

/**
 * What else esptool does to a board: erase the whole flash (after a confirmation that says what is lost) and
 * read a range of flash into a .bin file.
 */
export function BoardTools({ board, baud, busy }: { board: BoardSession; baud: number; busy: boolean }) {
  const st = useBoard(board);
  const [confirming, setConfirming] = useState(false);
  const [readFrom, setReadFrom] = useState('0x0');
  const [readLen, setReadLen] = useState('0x1000');
  const [readProblem, setReadProblem] = useState<string | null>(null);
  const boardName = st.kind === 'virtual' ? 'the virtual board' : 'the USB board';

  async function read() {
    const offset = parseHexOffset(readFrom);
    const length = parseHexOffset(readLen);
    if (offset === null || length === null || length === 0) {
      setReadProblem('Write the start and the length in hex, e.g. 0x10000 and 0x1000.');
      return;
    }
    setReadProblem(null);
    await board.readFlash(offset, length, baud);
    const r = board.store.get().opResult;
    if (r?.kind === 'read' && r.data)
      saveFile(r.data, `flash-${r.identity.chip}-0x${offset.toString(16)}-0x${length.toString(16)}.bin`);
  }

  return (
    <details className="board-tools" data-testid="board-tools" style={{ margin: '0.75rem 0' }}>
      <summary>Board tools: erase, read flash</summary>
      <div className="row" style={{ alignItems: 'flex-end', marginTop: '0.5rem' }}>
        {!confirming ? (
          <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Erase flash…
          </button>
        ) : (
          <div className="alert warn" role="alertdialog" aria-label="Confirm erase" data-testid="erase-confirm">
            <strong>Erase the whole flash of {boardName}?</strong>
            Every byte becomes 0xFF: the app, its settings (NVS) and every data partition are gone. The board will not
            boot until something is flashed again.
            <div className="row" style={{ marginTop: '0.5rem' }}>
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => {
                  setConfirming(false);
                  void board.erase(baud);
                }}
              >
                Erase everything
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </div>
          </div>
        )}
      </div>
      <div className="row" style={{ alignItems: 'flex-end', marginTop: '0.75rem' }}>
        <div className="field">
          <label htmlFor="read-from">Read from (hex)</label>
          <input id="read-from" className="mono" value={readFrom} onChange={(e) => setReadFrom(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="read-len">Length (hex)</label>
          <input id="read-len" className="mono" value={readLen} onChange={(e) => setReadLen(e.target.value)} />
        </div>
        <button type="button" disabled={busy} onClick={() => void read()}>
          Read flash to a file
        </button>
      </div>
      {readProblem && (
        <p className="alert error" role="alert">
          {readProblem}
        </p>
      )}
    </details>
  );
}
