'use client';
import { useMemo, useState } from 'react';
import type { LiveBuild, LiveBuildState } from '@/lib/build/live-build';
import { fetchBundle } from '@/lib/build/bundle-files';
import { toSizeModel } from '@/lib/build/size-model';
import { emulatedChip, emulatorBoardFor } from '@/lib/flash/emulator-board';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '../error-box';
import { FlashPanel } from '../flash/flash-panel';
import { ArtifactsPanel } from './artifacts-panel';
import { DiagnosticsList } from './diagnostics-list';
import { LogView } from './log-view';
import { SizeChart } from './size-chart';
import { TerminalPanel } from './terminal-panel';
import { TimelineView } from './timeline-view';

export function LivePanels({
  build,
  live,
  autoFlash,
  onFlashed,
}: {
  build: LiveBuild;
  live: LiveBuildState;
  autoFlash?: boolean;
  onFlashed?: (ok: boolean, message: string) => void;
}) {
  // A fresh object per click, so jumping to the same line twice scrolls again.
  const [jump, setJump] = useState<{ seq: number } | null>(null);
  const size = useMemo(
    () => toSizeModel(live.size, live.appPartitionSize, live.sizeComponents),
    [live.size, live.appPartitionSize, live.sizeComponents],
  );
  const failed = live.phase === 'failed' || live.phase === 'error';
  // Offered only for a successful build whose machine emulates its target; the channel opens on Run.
  const emuChip = live.phase === 'succeeded' && live.status?.emulator ? emulatedChip(live.status.target) : null;
  const link = build.link;
  const emulator = useMemo(
    () =>
      emuChip && link ? { board: emulatorBoardFor(link, () => link.openChannel('emulator')), chip: emuChip } : null,
    [emuChip, link],
  );
  return (
    <>
      <div className="panel">
        <TimelineView steps={live.steps} failed={failed} />
        <p className="small muted" aria-live="polite" style={{ margin: 0 }}>
          {live.phase === 'uploading'
            ? `Uploading ${formatBytes(live.uploadSent)} of ${formatBytes(live.uploadTotal)}`
            : live.phase === 'connecting'
              ? live.progress
              : live.machineName
                ? `On ${live.machineName}`
                : ''}
        </p>
      </div>
      <ErrorBox error={live.error} title={live.phase === 'failed' ? 'The build failed' : 'Something went wrong'} />
      <DiagnosticsList items={live.diagnostics} onJump={(seq) => setJump({ seq })} />
      <div className="panel">
        <LogView log={live.log} jumpTo={jump} />
      </div>
      {live.phase === 'succeeded' && (
        <div className="results">
          {size ? <SizeChart model={size} /> : <div className="panel muted">No size report.</div>}
          <ArtifactsPanel build={build} live={live} />
        </div>
      )}
      {live.phase === 'succeeded' && live.artifacts && (
        <FlashPanel
          prepare={async () => (await fetchBundle(build.firmware!, live.artifacts!)).input}
          ready={!!build.firmware}
          jws={live.manifest ? (live.manifest.jws ?? null) : undefined}
          linkJwk={build.link?.bundlePublicJwk ?? null}
          decodeWith={build}
          autoStart={autoFlash}
          onFlashed={onFlashed}
          chip={live.status?.target ?? live.manifest?.manifest.chip ?? null}
          emulator={emulator}
        />
      )}
      {build.link && <TerminalPanel build={build} />}
    </>
  );
}
