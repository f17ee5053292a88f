'use client';
import type { FlashBundleInput } from '@aegis/flasher';
import type { FlashBundleManifest } from '@aegis/protocol';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { bundleFromTar } from '@/lib/flash/bundle-file';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '@/components/error-box';
import { FlashPanel } from '@/components/flash/flash-panel';
import { HandoffReview } from '@/components/flash/handoff-review';

type Mode = 'bundle' | 'diy';

/**
 * Flash a downloaded bundle file (its signature checked with the key its JWS `kid` names), .bin files at chosen
 * offsets (DIY mode), or review a flash request from an AI agent (the MCP hand-off).
 */
export function FlashPage() {
  const requestId = useSearchParams().get('request');
  const [mode, setMode] = useState<Mode>('bundle');
  const [bundle, setBundle] = useState<{ input: FlashBundleInput; manifest: FlashBundleManifest } | null>(null);
  const [error, setError] = useState<unknown>(null);

  if (requestId) return <HandoffReview requestId={requestId} />;
  return (
    <>
      <div className="panel">
        <div className="row" role="radiogroup" aria-label="What to flash" style={{ marginBottom: '0.75rem' }}>
          <label className="check">
            <input type="radio" name="mode" checked={mode === 'bundle'} onChange={() => setMode('bundle')} />A
            build&apos;s flash bundle (.tar)
          </label>
          <label className="check">
            <input type="radio" name="mode" checked={mode === 'diy'} onChange={() => setMode('diy')} />
            DIY: .bin files at offsets
          </label>
        </div>
        {mode === 'bundle' ? (
          <>
            <h2>Bundle file</h2>
            <div className="field">
              <label htmlFor="bundle-file">Flash bundle (.tar from a build&apos;s Artifacts)</label>
              <input
                id="bundle-file"
                type="file"
                accept=".tar,application/x-tar"
                onChange={async (e) => {
                  setError(null);
                  setBundle(null);
                  const f = e.target.files?.[0];
                  if (!f) return;
                  try {
                    setBundle(bundleFromTar(new Uint8Array(await f.arrayBuffer())));
                  } catch (err) {
                    setError(err);
                  }
                }}
              />
            </div>
            <ErrorBox error={error} title="This file cannot be flashed" />
            {bundle && (
              <p className="small" data-testid="bundle-summary">
                <strong>{bundle.manifest.project}</strong> for <span className="mono">{bundle.manifest.chip}</span>, IDF{' '}
                {bundle.manifest.idf_version}:{' '}
                {bundle.manifest.parts
                  .map((p) => `${p.name} @ 0x${p.offset.toString(16)} (${formatBytes(p.size)})`)
                  .join(', ')}
              </p>
            )}
          </>
        ) : (
          <>
            <h2>DIY mode</h2>
            <p className="small muted">
              Flash any .bin files, each at the offset you give (hex, on a 4 KiB boundary), onto whatever chip the board
              reports — like ESP Launchpad&apos;s DIY mode. These files carry no build machine&apos;s signature: flash
              only files you trust.
            </p>
          </>
        )}
      </div>
      {mode === 'bundle' ? (
        <FlashPanel
          key="bundle"
          prepare={async () => bundle!.input}
          ready={!!bundle}
          jws={bundle ? (bundle.input.jws ?? null) : undefined}
          decodeWith={null}
          chip={bundle?.manifest.chip ?? null}
        />
      ) : (
        <FlashPanel key="diy" diy ready decodeWith={null} chip={null} />
      )}
    </>
  );
}
