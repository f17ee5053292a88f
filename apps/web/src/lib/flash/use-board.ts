'use client';
import { useSyncExternalStore } from 'react';
import type { BoardSession, BoardState } from './board-session';
import type { EmulatorBoard, EmulatorRunState } from './emulator-board';

export function useBoard(b: BoardSession): BoardState {
  return useSyncExternalStore(b.store.subscribe, b.store.get, b.store.get);
}

const noEmulator = { subscribe: () => () => {}, get: () => null };

/** The emulator run's state, or null when no emulator is offered. */
export function useEmulatorRun(e: EmulatorBoard | null): EmulatorRunState | null {
  const s = e?.store ?? noEmulator;
  return useSyncExternalStore(s.subscribe, s.get, s.get);
}
