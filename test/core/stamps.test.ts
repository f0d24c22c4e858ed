import { describe, expect, it } from 'vitest';
import { isExpired, nextStamp, pullWatermark, settledLongAgo } from '../../lambdas/core/stamps.js';

const policy = { inflightExpiryMs: 30_000, indexLagMs: 5_000 };
const clock = (o: { clock: number; inflight?: number[]; settling?: { stamp: number; finishedAt: number }[] }) => ({ inflight: [], settling: [], ...o });

describe('stamps', () => {
  it('nextStamp is strictly increasing and never behind the wall clock', () => {
    expect(nextStamp(100, 50)).toBe(101);
    expect(nextStamp(100, 500)).toBe(500);
    expect(nextStamp(100, 100.7)).toBe(101);
  });
  it('with nothing in flight or settling, the watermark is the clock', () => {
    expect(pullWatermark(clock({ clock: 900 }), 100_000, policy)).toBe(900);
  });
  it('the watermark stays below the oldest live in-flight push', () => {
    expect(pullWatermark(clock({ clock: 99_900, inflight: [99_850, 99_870] }), 100_000, policy)).toBe(99_849);
  });
  it('an expired in-flight entry (a dead push) no longer holds the watermark', () => {
    expect(isExpired(850, 100_000, 30_000)).toBe(true);
    expect(pullWatermark(clock({ clock: 99_000, inflight: [850] }), 100_000, policy)).toBe(99_000);
  });
  it('a push that ended less than indexLagMs ago holds the watermark below its stamp, whatever its stamp', () => {
    // A slow push: its stamp is old, but it finished just now, so the index may not show its last write.
    expect(pullWatermark(clock({ clock: 99_000, settling: [{ stamp: 70_000, finishedAt: 98_000 }] }), 100_000, policy)).toBe(69_999);
    expect(pullWatermark(clock({ clock: 99_000, settling: [{ stamp: 70_000, finishedAt: 94_000 }] }), 100_000, policy)).toBe(99_000);
  });
  it('settled entries are removed only well after no pull needs them', () => {
    const settling = [
      { stamp: 1, finishedAt: 100_000 - 5_000 - 5_001 },
      { stamp: 2, finishedAt: 100_000 - 6_000 },
    ];
    expect(settledLongAgo(settling, 100_000, policy).map((s) => s.stamp)).toEqual([1]);
  });
  it('never reports 0 (WatermelonDB rejects it)', () => {
    expect(pullWatermark(clock({ clock: 0 }), 0, policy)).toBe(1);
  });
});
