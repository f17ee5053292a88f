export type StepKey = 'grant' | 'assigned' | 'connected' | 'uploaded' | 'building' | 'finished' | 'results';
export const STEPS: { key: StepKey; label: string }[] = [
  { key: 'grant', label: 'Grant' },
  { key: 'assigned', label: 'Machine' },
  { key: 'connected', label: 'Connected' },
  { key: 'uploaded', label: 'Uploaded' },
  { key: 'building', label: 'Building' },
  { key: 'finished', label: 'Finished' },
  { key: 'results', label: 'Results' },
];
export type StepTimes = Partial<Record<StepKey, number>>;
