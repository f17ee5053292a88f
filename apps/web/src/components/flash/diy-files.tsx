'use client';
import { DIY_MAX_FILES, type DiyFile } from '@/lib/flash/diy-layout';
import { formatBytes } from '@/lib/format';

/** Offsets ESP-IDF uses, as a hint for the first files (ESP Launchpad's DIY mode starts the same way). */
const SUGGESTED = ['0x0', '0x8000', '0x10000'];

/**
 * DIY mode's file list: each row a .bin file and the hex offset it goes to. Picking several files at once adds a
 * row for each; the offsets are checked by the panel (checkDiyLayout) against each other and the board.
 */
export function DiyFiles({
  files,
  onChange,
  disabled,
}: {
  files: DiyFile[];
  onChange: (files: DiyFile[]) => void;
  disabled: boolean;
}) {
  const set = (i: number, patch: Partial<DiyFile>) => onChange(files.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <fieldset data-testid="diy-files">
      <legend>Files and offsets</legend>
      <div className="field">
        <label htmlFor="diy-add">Add .bin files</label>
        <input
          id="diy-add"
          type="file"
          multiple
          accept=".bin,application/octet-stream"
          disabled={disabled || files.length >= DIY_MAX_FILES}
          onChange={async (e) => {
            const picked = Array.from(e.target.files ?? []);
            e.target.value = '';
            const added: DiyFile[] = [];
            for (const f of picked) {
              const offsetText = SUGGESTED[files.length + added.length] ?? '';
              added.push({ name: f.name, offsetText, data: new Uint8Array(await f.arrayBuffer()) });
            }
            onChange([...files, ...added]);
          }}
        />
      </div>
      {files.length > 0 && (
        <table className="small">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Size</th>
              <th scope="col">Offset (hex)</th>
              <th scope="col">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {files.map((f, i) => (
              <tr key={i}>
                <td className="mono">{f.name}</td>
                <td>{formatBytes(f.data.length)}</td>
                <td>
                  <input
                    className="mono"
                    aria-label={`Offset of ${f.name}`}
                    value={f.offsetText}
                    placeholder="0x10000"
                    disabled={disabled}
                    onChange={(e) => set(i, { offsetText: e.target.value })}
                    style={{ width: '9rem' }}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    aria-label={`Remove ${f.name}`}
                    disabled={disabled}
                    onClick={() => onChange(files.filter((_, j) => j !== i))}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </fieldset>
  );
}
