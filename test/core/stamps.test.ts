import { describe, expect, it } from 'vitest';
import { committedThrough, isExpired, nextStamp, pinPull, recentlySettled, settledLongAgo } from '../../lambdas/core/stamps.js';

const policy = { inflightExpiryMs: 30_000, indexLagMs: 5_000 };
const clock = (o: { clock: number; inflight?: number[]; settling?: { stamp: number; finishedAt: number; leaseId?: string }[] }) => ({ inflight: [], settling: [], ...o });

describe('stamps', () => {
  it('nextStamp is strictly increasing and never behind the wall clock', () => {
    expect(nextStamp(100, 50)).toBe(101);
    expect(nextStamp(100, 500)).toBe(500);
    expect(nextStamp(100, 100.7)).toBe(101);
  });
  it('with nothing in flight, a pull may report the clock', () => {
    expect(committedThrough(clock({ clock: 900 }), 100_000, policy)).toBe(900);
  });
  it('a pull reports below the oldest live in-flight lease', () => {
    expect(committedThrough(clock({ clock: 99_900, inflight: [99_850, 99_870] }), 100_000, policy)).toBe(99_849);
  });
  it('an expired in-flight lease (a dead push) no longer holds pulls', () => {
    expect(isExpired(850, 100_000, 30_000)).toBe(true);
    expect(committedThrough(clock({ clock: 99_000, inflight: [850] }), 100_000, policy)).toBe(99_000);
  });
  it('settling leases do not hold the timestamp; those that ended within the index lag are read through their journals', () => {
    // A slow push: its stamp is old, but it finished just now, so the index may not show its last write.
    const state = clock({ clock: 99_000, settling: [{ stamp: 70_000, finishedAt: 98_000, leaseId: 'a' }, { stamp: 80_000, finishedAt: 94_000, leaseId: 'b' }, { stamp: 99_500, finishedAt: 99_900, leaseId: 'c' }] });
    expect(committedThrough(state, 100_000, policy)).toBe(99_000);
    expect(recentlySettled(state, 100_000, policy, 99_000).map((s) => s.leaseId)).toEqual(['a']);
    expect(recentlySettled(state, 100_000, policy, 99_600).map((s) => s.leaseId)).toEqual(['a', 'c']);
  });
  it('pinPull: journaled recent leases are read; one without a journal holds the timestamp below its stamp', () => {
    const recent = [
      { stamp: 70_000, finishedAt: 98_000, leaseId: 'a' },
      { stamp: 90_000, finishedAt: 98_500, leaseId: 'b' },
      { stamp: 95_000, finishedAt: 99_000 },
    ];
    expect(pinPull(99_000, recent.slice(0, 2), () => true)).toEqual({ timestamp: 99_000, journalLeases: ['a', 'b'] });
    expect(pinPull(99_000, recent, () => true)).toEqual({ timestamp: 94_999, journalLeases: ['a', 'b'] });
    expect(pinPull(99_000, recent.slice(0, 2), (id) => id === 'b')).toEqual({ timestamp: 69_999, journalLeases: [] });
    expect(pinPull(99_000, recent.slice(0, 2), (id) => id === 'a')).toEqual({ timestamp: 89_999, journalLeases: ['a'] });
  });
  it('settled entries are removed only well after no pull needs them', () => {
    const settling = [
      { stamp: 1, finishedAt: 100_000 - 5_000 - 5_001 },
      { stamp: 2, finishedAt: 100_000 - 6_000 },
    ];
    expect(settledLongAgo(settling, 100_000, policy).map((s) => s.stamp)).toEqual([1]);
  });
  it('never reports 0 (WatermelonDB rejects it)', () => {
    expect(pinPull(0, [], () => true).timestamp).toBe(1);
    expect(pinPull(500, [{ stamp: 1, finishedAt: 0 }], () => true).timestamp).toBe(1);
  });
});
