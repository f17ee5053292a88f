import { describe, expect, it, vi } from 'vitest';
import type { LiveBuild } from '../src/lib/build/live-build';
import { liveBuild, registerLive, releaseWhenIdle } from '../src/lib/build/registry';

function fakeBuild(state: string) {
  const close = vi.fn();
  const b = { store: { get: () => ({ status: { state } }) }, close } as unknown as LiveBuild;
  return { b, close };
}

describe('live build registry', () => {
  it('closes a finished build nobody looks at, but not one the page came back to', async () => {
    vi.useFakeTimers();
    try {
      const idle = fakeBuild('succeeded');
      registerLive('a', idle.b);
      releaseWhenIdle('a', 1000);
      const back = fakeBuild('failed');
      registerLive('b', back.b);
      releaseWhenIdle('b', 1000);
      expect(liveBuild('b')).toBe(back.b); // the user returned within the grace time
      vi.advanceTimersByTime(1500);
      expect(idle.close).toHaveBeenCalledOnce();
      expect(liveBuild('a')).toBeUndefined();
      expect(back.close).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never closes a build that is still running', () => {
    vi.useFakeTimers();
    try {
      const running = fakeBuild('running');
      registerLive('c', running.b);
      releaseWhenIdle('c', 10);
      vi.advanceTimersByTime(100);
      expect(running.close).not.toHaveBeenCalled();
      expect(liveBuild('c')).toBe(running.b);
    } finally {
      vi.useRealTimers();
    }
  });
});
