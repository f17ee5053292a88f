'use client';
import { useMemo, useState } from 'react';
import type { LiveBuild, LiveBuildState } from '@/lib/build/live-build';
import { diagnosticsOf } from '@/lib/build/diagnostics';
import { toSizeModel } from '@/lib/build/size-model';
import { formatBytes } from '@/lib/format';
import { ErrorBox } from '../error-box';
import { ArtifactsPanel } from './artifacts-panel';
import { DiagnosticsList } from './diagnostics-list';
import { LogView } from './log-view';
import { SizeChart } from './size-chart';
import { TerminalPanel } from './terminal-panel';
import { TimelineView } from './timeline-view';

export function LivePanels({ build, live }: { build: LiveBuild; live: LiveBuildState }) {
  const [jump, setJump] = useState<number | null>(null);
  const diags = useMemo(() => diagnosticsOf(live.logs), [live.logs]);
  const size = useMemo(() => toSizeModel(live.size), [live.size]);
  const failed = live.phase === 'failed' || live.phase === 'error';
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
      <DiagnosticsList items={diags} onJump={(s) => setJump(s)} />
      <div className="panel">
        <LogView lines={live.logs} jumpTo={jump} />
      </div>
      {live.phase === 'succeeded' && (
        <div className="grid">
          {size ? <SizeChart model={size} /> : <div className="panel muted">No size report.</div>}
          <ArtifactsPanel build={build} live={live} />
        </div>
      )}
      {build.link && <TerminalPanel build={build} />}
    </>
  );
}
