import { describe, expect, it } from 'vitest';
import { deltaLowerBound, isExpired, nextStamp, pullWatermark } from '../../lambdas/core/stamps.js';

describe('stamps', () => {
  it('nextStamp is strictly increasing and never behind the wall clock', () => {
    expect(nextStamp(100, 50)).toBe(101);
    expect(nextStamp(100, 500)).toBe(500);
    expect(nextStamp(100, 100.7)).toBe(101);
  });
  it('the pull watermark stays below the oldest live in-flight push', () => {
    expect(pullWatermark({ clock: 900, inflight: [] }, 1000, 30_000)).toBe(900);
    expect(pullWatermark({ clock: 900, inflight: [850, 870] }, 1000, 30_000)).toBe(849);
  });
  it('an expired in-flight entry (a dead push) no longer holds the watermark', () => {
    expect(isExpired(850, 100_000, 30_000)).toBe(true);
    expect(pullWatermark({ clock: 99_000, inflight: [850] }, 100_000, 30_000)).toBe(99_000);
  });
  it('never reports 0 (WatermelonDB rejects it)', () => {
    expect(pullWatermark({ clock: 0, inflight: [] }, 0, 1)).toBe(1);
  });
  it('delta pulls re-read the index-lag window', () => {
    expect(deltaLowerBound(10_000, 2_000)).toBe(8_000);
    expect(deltaLowerBound(1_000, 2_000)).toBe(0);
  });
});
