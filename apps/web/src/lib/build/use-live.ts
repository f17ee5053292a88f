'use client';
import { useSyncExternalStore } from 'react';
import type { LiveBuild, LiveBuildState } from './live-build';

const EMPTY_SUB = () => () => {};
export function useLive(build: LiveBuild | null): LiveBuildState | null {
  return useSyncExternalStore(
    build ? build.store.subscribe : EMPTY_SUB,
    () => (build ? build.store.get() : null),
    () => null,
  );
}
