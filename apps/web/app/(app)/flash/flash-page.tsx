'use client';
import type { FlashBundleInput } from '@aegis/flasher';
import type { FlashBundleManifest } from '@aegis/protocol';
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { api, listOf } from '@/lib/api';
import { bundleFromTar } from '@/lib/flash/bundle-file';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '@/components/error-box';
import { FlashPanel } from '@/components/flash/flash-panel';
import { HandoffReview } from '@/components/flash/handoff-review';

/** Flash a downloaded bundle file, or review a flash request from an AI agent (the MCP hand-off). */
export function FlashPage() {
  const requestId = useSearchParams().get('request');
  const [bundle, setBundle] = useState<{ input: FlashBundleInput; manifest: FlashBundleManifest } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const machines = useQuery({
    queryKey: ['machines-keys'],
    queryFn: async () =>
      listOf<{ id: string; bundle_public_jwk: Record<string, unknown> | null }>(await api('machines'), 'machines'),
  });
  const jwk = bundle
    ? (machines.data?.find((m) => m.id === bundle.manifest.machine_id)?.bundle_public_jwk ?? null)
    : null;

  if (requestId) return <HandoffReview requestId={requestId} />;
  return (
    <>
      <div className="panel">
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
      </div>
      <FlashPanel
        prepare={async () => bundle!.input}
        ready={!!bundle}
        hasSignature={!!bundle?.input.jws}
        publicJwk={jwk}
        decodeWith={null}
        chip={bundle?.manifest.chip ?? null}
      />
    </>
  );
}
