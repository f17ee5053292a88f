import { STEPS, type StepTimes } from '@/lib/build/timeline';

export function TimelineView({ steps, failed, startedAt }: { steps: StepTimes; failed: boolean; startedAt?: number }) {
  const lastDone = STEPS.reduce((i, s, idx) => (steps[s.key] ? idx : i), -1);
  const t0 = startedAt ?? steps.grant;
  return (
    <ol className="timeline" aria-label="Build progress" data-testid="timeline">
      {STEPS.map((s, idx) => {
        const at = steps[s.key];
        const cls = at ? (failed && idx === lastDone ? 'fail' : 'done') : idx === lastDone + 1 && !failed ? 'now' : '';
        return (
          <li key={s.key} className={cls} aria-current={cls === 'now' ? 'step' : undefined}>
            {s.label}
            {at && t0 ? <span className="small"> +{((at - t0) / 1000).toFixed(1)} s</span> : null}
            <span className="sr-only">{at ? ' (done)' : cls === 'now' ? ' (in progress)' : ' (waiting)'}</span>
          </li>
        );
      })}
    </ol>
  );
}
