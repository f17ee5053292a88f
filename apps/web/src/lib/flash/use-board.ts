'use client';
import { useSyncExternalStore } from 'react';
import type { BoardSession, BoardState } from './board-session';

export function useBoard(b: BoardSession): BoardState {
  return useSyncExternalStore(b.store.subscribe, b.store.get, b.store.get);
}
