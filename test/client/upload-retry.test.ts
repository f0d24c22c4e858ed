/**
 * Unit tests of the upload queue's retry arithmetic: `retryDelayMs` (capped exponential backoff
 * with "equal jitter" and a Retry-After floor), `resolveRetryPolicy` (option validation) and
 * `settle` (what an attempt's result makes of a job). Pure functions: no database, no network.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../client/uploads/attempt.js';
import type { StoredJob } from '../../client/uploads/job-store.js';
import { settle } from '../../client/uploads/queue.js';
import { DEFAULT_RETRY_POLICY, MAX_RETRY_AFTER_MS, resolveRetryPolicy, retryDelayMs, type RetryPolicy } from '../../client/uploads/retry.js';

const POLICY: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 60_000, maxAttempts: 5 };
const ZERO = () => 0;
/** The largest value `Math.random` can return. */
const ALMOST_ONE = () => 1 - 2 ** -53;
const HALF = () => 0.5;

describe('retryDelayMs', () => {
  it('doubles the ceiling per failure from baseDelayMs: random()=0 gives half of it, random()≈1 all of it', () => {
    const ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000];
    for (const [i, ceiling] of ceilings.entries()) {
      const failures = i + 1;
      expect(retryDelayMs(failures, POLICY, ZERO)).toBe(ceiling / 2);
      expect(retryDelayMs(failures, POLICY, ALMOST_ONE)).toBe(ceiling);
      expect(retryDelayMs(failures, POLICY, HALF)).toBe((ceiling * 3) / 4);
    }
  });

  it('caps the ceiling at maxDelayMs', () => {
    // 1 000 · 2^6 = 64 000 > 60 000
    expect(retryDelayMs(7, POLICY, ALMOST_ONE)).toBe(60_000);
    expect(retryDelayMs(7, POLICY, ZERO)).toBe(30_000);
    expect(retryDelayMs(50, POLICY, ALMOST_ONE)).toBe(60_000);
    expect(retryDelayMs(50, POLICY, ZERO)).toBe(30_000);
    // A ceiling that is not a power-of-two multiple of the base is reached exactly.
    const odd: RetryPolicy = { baseDelayMs: 300, maxDelayMs: 1_000, maxAttempts: 3 };
    expect(retryDelayMs(3, odd, ALMOST_ONE)).toBe(1_000);
    expect(retryDelayMs(3, odd, ZERO)).toBe(500);
  });

  it('with the default policy: 1–2 s after the first failure, at most 30 min ever', () => {
    expect(retryDelayMs(1, DEFAULT_RETRY_POLICY, ZERO)).toBe(1_000);
    expect(retryDelayMs(1, DEFAULT_RETRY_POLICY, ALMOST_ONE)).toBe(2_000);
    expect(retryDelayMs(100, DEFAULT_RETRY_POLICY, ALMOST_ONE)).toBe(30 * 60_000);
    expect(retryDelayMs(100, DEFAULT_RETRY_POLICY, ZERO)).toBe(15 * 60_000);
  });

  it('always returns an integer number of milliseconds', () => {
    const odd: RetryPolicy = { baseDelayMs: 3, maxDelayMs: 1_000, maxAttempts: 3 };
    // 3/2 + 0.3·3/2 = 1.95
    expect(retryDelayMs(1, odd, () => 0.3)).toBe(2);
    expect(retryDelayMs(1, odd, ZERO)).toBe(2); // 1.5 rounds up: never below half the ceiling
  });

  it('treats a failure count below 1 as 1', () => {
    for (const failures of [0, -1, -1_000, Number.NEGATIVE_INFINITY]) {
      expect(retryDelayMs(failures, POLICY, ZERO)).toBe(500);
      expect(retryDelayMs(failures, POLICY, ALMOST_ONE)).toBe(1_000);
    }
  });

  it('does not overflow on huge failure counts', () => {
    for (const failures of [1_024, 1_025, 1e6, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      expect(retryDelayMs(failures, POLICY, ALMOST_ONE)).toBe(60_000);
      expect(retryDelayMs(failures, POLICY, ZERO)).toBe(30_000);
    }
    const wide: RetryPolicy = { baseDelayMs: 1, maxDelayMs: Number.MAX_SAFE_INTEGER, maxAttempts: 3 };
    const d = retryDelayMs(1e9, wide, ALMOST_ONE);
    expect(Number.isFinite(d)).toBe(true);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  it("uses a server's Retry-After as a floor, never as a ceiling", () => {
    // The backoff is shorter: Retry-After wins.
    expect(retryDelayMs(1, POLICY, ZERO, 120_000)).toBe(120_000);
    expect(retryDelayMs(1, POLICY, ALMOST_ONE, 120_000)).toBe(120_000);
    // The backoff is longer: the backoff wins.
    expect(retryDelayMs(6, POLICY, ZERO, 1_000)).toBe(16_000);
    expect(retryDelayMs(6, POLICY, ALMOST_ONE, 1_000)).toBe(32_000);
    // Retry-After: 0 changes nothing.
    expect(retryDelayMs(2, POLICY, HALF, 0)).toBe(1_500);
  });

  it('caps Retry-After at MAX_RETRY_AFTER_MS (24 h)', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(24 * 3600_000);
    expect(retryDelayMs(1, POLICY, ZERO, 30 * 24 * 3600_000)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelayMs(1, POLICY, ALMOST_ONE, MAX_RETRY_AFTER_MS + 1)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelayMs(1, POLICY, ZERO, MAX_RETRY_AFTER_MS - 1)).toBe(MAX_RETRY_AFTER_MS - 1);
    // A backoff longer than the cap is not shortened by it.
    const slow: RetryPolicy = { baseDelayMs: 60 * 3600_000, maxDelayMs: 60 * 3600_000, maxAttempts: 3 };
    expect(retryDelayMs(1, slow, ZERO, 7 * 24 * 3600_000)).toBe(30 * 3600_000);
  });

  it('property: the delay lies between half the ceiling and the ceiling, raised to the capped Retry-After', () => {
    const policy = fc
      .record({ baseDelayMs: fc.integer({ min: 1, max: 100_000 }), spread: fc.integer({ min: 0, max: 20 }), extra: fc.integer({ min: 0, max: 1_000 }) })
      .map(({ baseDelayMs, spread, extra }): RetryPolicy => ({ baseDelayMs, maxDelayMs: baseDelayMs * 2 ** spread + extra, maxAttempts: 10 }));
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 200 }),
        policy,
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 3 * MAX_RETRY_AFTER_MS }), { nil: undefined }),
        (failures, p, r, retryAfterMs) => {
          const delay = retryDelayMs(failures, p, () => r, retryAfterMs);
          // The reference ceiling, written independently: base · 2^(n-1), capped.
          const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (Math.max(failures, 1) - 1));
          const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.max(ceiling / 2, floor));
          expect(delay).toBeLessThanOrEqual(Math.max(ceiling, floor));
          expect(delay).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: the delay never shrinks as failures grow (same random draw)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        expect(retryDelayMs(n + 1, DEFAULT_RETRY_POLICY, () => r)).toBeGreaterThanOrEqual(retryDelayMs(n, DEFAULT_RETRY_POLICY, () => r));
      }),
      { numRuns: 300 },
    );
  });
});

describe('resolveRetryPolicy', () => {
  it('fills in the defaults and returns a frozen policy', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ baseDelayMs: 2_000, maxDelayMs: 30 * 60_000, maxAttempts: 10 });
    const p = resolveRetryPolicy();
    expect(p).toEqual(DEFAULT_RETRY_POLICY);
    expect(Object.isFrozen(p)).toBe(true);
    expect(resolveRetryPolicy({ maxAttempts: 3 })).toEqual({ baseDelayMs: 2_000, maxDelayMs: 30 * 60_000, maxAttempts: 3 });
    expect(resolveRetryPolicy({ baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 1 })).toEqual({ baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 1 });
    // maxDelayMs equal to baseDelayMs is allowed (no growth).
    expect(resolveRetryPolicy({ baseDelayMs: 7, maxDelayMs: 7 })).toMatchObject({ baseDelayMs: 7, maxDelayMs: 7 });
  });

  it('does not alter the defaults or the overrides it is given', () => {
    const overrides = { maxAttempts: 4 };
    resolveRetryPolicy(overrides);
    expect(overrides).toEqual({ maxAttempts: 4 });
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(10);
  });

  const fields = ['baseDelayMs', 'maxDelayMs', 'maxAttempts'] as const;
  const bad: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5', null];
  for (const field of fields) {
    it(`rejects a ${field} that is not a positive integer, naming the field`, () => {
      for (const value of bad) {
        // maxDelayMs must stay ≥ baseDelayMs for the other checks not to fire first.
        const overrides = (field === 'baseDelayMs' ? { baseDelayMs: value, maxDelayMs: 2 ** 52 } : { [field]: value }) as Partial<RetryPolicy>;
        expect(() => resolveRetryPolicy(overrides), `${field}: ${String(value)}`).toThrow(TypeError);
        expect(() => resolveRetryPolicy(overrides)).toThrow(new RegExp(`retry\\.${field} must be a positive integer, got ${String(value).replace('.', '\\.')}`));
      }
    });
  }

  it('rejects maxDelayMs below baseDelayMs, naming both fields', () => {
    expect(() => resolveRetryPolicy({ baseDelayMs: 10, maxDelayMs: 9 })).toThrow(TypeError);
    expect(() => resolveRetryPolicy({ baseDelayMs: 10, maxDelayMs: 9 })).toThrow(/retry\.maxDelayMs must be at least retry\.baseDelayMs/);
    // Against the default maxDelayMs (30 min).
    expect(() => resolveRetryPolicy({ baseDelayMs: 30 * 60_000 + 1 })).toThrow(/retry\.maxDelayMs/);
    // Against the default baseDelayMs (2 s).
    expect(() => resolveRetryPolicy({ maxDelayMs: 1_999 })).toThrow(/retry\.maxDelayMs must be at least retry\.baseDelayMs/);
  });
});

describe('settle: the job after an attempt', () => {
  const AT = 1_800_000_000_000;
  const policy: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 60_000, maxAttempts: 3 };

  function job(overrides: Partial<StoredJob> = {}): StoredJob {
    return Object.freeze({
      id: 'job1',
      uri: 'file:///docs/run.fit',
      kind: 'fit',
      contentType: 'application/vnd.ant.fit',
      activityId: null,
      status: 'uploading',
      attempts: 1,
      uploadId: 'Upload0000000001',
      error: null,
      nextAttemptAt: null,
      sizeBytes: null,
      createdAt: AT - 10_000,
      updatedAt: AT - 5_000,
      countedFailures: 0,
      consecutiveFailures: 0,
      ...overrides,
    } satisfies StoredJob);
  }
  const counted = (reason = 'the server is unavailable (HTTP 503): try again', retryAfterMs?: number): AttemptResult =>
    retryAfterMs === undefined ? { kind: 'retry', reason, counts: true, sizeBytes: 10 } : { kind: 'retry', reason, counts: true, retryAfterMs, sizeBytes: 10 };
  const uncounted = (reason = 'no connection to the server (offline)'): AttemptResult => ({ kind: 'retry', reason, counts: false, sizeBytes: null });

  it('uploaded: status uploaded, error and nextAttemptAt cleared, other fields kept', () => {
    const before = job({ error: 'earlier failure', nextAttemptAt: AT - 1, countedFailures: 2, attempts: 3 });
    const after = settle(before, { kind: 'uploaded', sizeBytes: 1234 }, AT, policy, ZERO);
    expect(after).toEqual({ ...before, status: 'uploaded', error: null, nextAttemptAt: null, sizeBytes: 1234, updatedAt: AT });
    expect(before.status).toBe('uploading'); // the input is not changed
  });

  it('fail: status failed with the reason, no next attempt, counted failures untouched', () => {
    const before = job({ countedFailures: 1, nextAttemptAt: AT - 1 });
    const after = settle(before, { kind: 'fail', reason: 'the server refused the upload (HTTP 400): too large', sizeBytes: 99 }, AT, policy, ZERO);
    expect(after).toEqual({ ...before, status: 'failed', error: 'the server refused the upload (HTTP 400): too large', nextAttemptAt: null, sizeBytes: 99, updatedAt: AT });
  });

  it('a counted retry: pending, one more counted failure, next attempt after the backoff', () => {
    // the 3rd failure in a row → ceiling 4 000 ms; random()=0 → 2 000 ms
    const after = settle(job({ attempts: 3, countedFailures: 1, consecutiveFailures: 2 }), counted(), AT, policy, ZERO);
    expect(after).toMatchObject({ status: 'pending', countedFailures: 2, error: 'the server is unavailable (HTTP 503): try again', nextAttemptAt: AT + 2_000, updatedAt: AT, sizeBytes: 10 });
  });

  it('a retry that does not count: pending, counted failures unchanged, and it still backs off', () => {
    const after = settle(job({ attempts: 4, countedFailures: 2, consecutiveFailures: 3 }), uncounted(), AT, policy, ALMOST_ONE);
    // the 4th failure in a row → ceiling 8 000 ms; random()≈1 → 8 000 ms
    expect(after).toMatchObject({ status: 'pending', countedFailures: 2, error: 'no connection to the server (offline)', nextAttemptAt: AT + 8_000 });
    // An offline phone does not give up, however many attempts it made.
    const longOffline = settle(job({ attempts: 1_000, countedFailures: 2, consecutiveFailures: 999 }), uncounted(), AT, policy, ZERO);
    expect(longOffline).toMatchObject({ status: 'pending', countedFailures: 2, nextAttemptAt: AT + 30_000 });
  });

  it('the backoff follows failures in a row, not lifetime attempts: a job put back by retry() starts from the base again', () => {
    const afterRetry = settle(job({ attempts: 25, countedFailures: 0, consecutiveFailures: 0 }), counted(), AT, policy, ALMOST_ONE);
    expect(afterRetry).toMatchObject({ consecutiveFailures: 1 });
    expect(afterRetry.nextAttemptAt! - AT).toBeLessThanOrEqual(policy.baseDelayMs);
    const inARow = settle(job({ attempts: 25, countedFailures: 0, consecutiveFailures: 24 }), counted(), AT, policy, ALMOST_ONE);
    expect(inARow.nextAttemptAt! - AT).toBeGreaterThan(policy.maxDelayMs - 1_000);
  });

  it("nextAttemptAt = at + the backoff, raised to the server's Retry-After", () => {
    const after = settle(job({ attempts: 1 }), counted('throttled', 120_000), AT, policy, ZERO);
    expect(after.nextAttemptAt).toBe(AT + 120_000);
    const capped = settle(job({ attempts: 1 }), counted('throttled', 10 * MAX_RETRY_AFTER_MS), AT, policy, ZERO);
    expect(capped.nextAttemptAt).toBe(AT + MAX_RETRY_AFTER_MS);
    const uncountedWithRetryAfter = settle(job({ attempts: 1 }), { kind: 'retry', reason: 'not signed in', counts: false, retryAfterMs: 5_000, sizeBytes: null }, AT, policy, ZERO);
    expect(uncountedWithRetryAfter).toMatchObject({ status: 'pending', nextAttemptAt: AT + 5_000, countedFailures: 0 });
  });

  it('gives up exactly at maxAttempts counted failures, whatever the uncounted ones in between', () => {
    const steps: AttemptResult[] = [uncounted(), counted('HTTP 502 one'), uncounted(), uncounted(), counted('HTTP 502 two'), uncounted(), counted('HTTP 502 three')];
    let j = job({ attempts: 0, status: 'pending' });
    const statuses: string[] = [];
    for (const step of steps) {
      j = settle({ ...j, status: 'uploading', attempts: j.attempts + 1 }, step, AT, policy, HALF);
      statuses.push(`${j.status}:${j.countedFailures}`);
    }
    expect(statuses).toEqual(['pending:0', 'pending:1', 'pending:1', 'pending:1', 'pending:2', 'pending:2', 'failed:3']);
    expect(j).toMatchObject({ status: 'failed', nextAttemptAt: null, attempts: 7, error: 'HTTP 502 three (gave up after 3 failed attempts)' });
  });

  it('one counted failure short of maxAttempts stays pending; an uncounted one at the limit too', () => {
    expect(settle(job({ countedFailures: 1 }), counted(), AT, policy, ZERO)).toMatchObject({ status: 'pending', countedFailures: 2 });
    expect(settle(job({ countedFailures: 2 }), uncounted(), AT, policy, ZERO)).toMatchObject({ status: 'pending', countedFailures: 2 });
    expect(settle(job({ countedFailures: 2 }), counted('boom'), AT, policy, ZERO)).toMatchObject({ status: 'failed', countedFailures: 3, error: 'boom (gave up after 3 failed attempts)' });
  });

  it('maxAttempts 1: the first counted failure is final', () => {
    const once = { ...policy, maxAttempts: 1 };
    expect(settle(job(), counted('HTTP 500'), AT, once, ZERO)).toMatchObject({ status: 'failed', countedFailures: 1, nextAttemptAt: null, error: 'HTTP 500 (gave up after 1 failed attempts)' });
    expect(settle(job(), uncounted(), AT, once, ZERO)).toMatchObject({ status: 'pending', countedFailures: 0 });
  });

  it('keeps sizeBytes when the attempt did not learn it, replaces it when it did (0 included)', () => {
    expect(settle(job({ sizeBytes: 4096 }), uncounted(), AT, policy, ZERO).sizeBytes).toBe(4096);
    expect(settle(job({ sizeBytes: 4096 }), { kind: 'fail', reason: 'gone', sizeBytes: null }, AT, policy, ZERO).sizeBytes).toBe(4096);
    expect(settle(job({ sizeBytes: null }), { kind: 'fail', reason: 'gone', sizeBytes: null }, AT, policy, ZERO).sizeBytes).toBeNull();
    expect(settle(job({ sizeBytes: 4096 }), { kind: 'uploaded', sizeBytes: 0 }, AT, policy, ZERO).sizeBytes).toBe(0);
    expect(settle(job({ sizeBytes: 4096 }), { kind: 'uploaded', sizeBytes: 5000 }, AT, policy, ZERO).sizeBytes).toBe(5000);
  });

  it('draws on the injected randomness for the jitter only when it schedules a retry', () => {
    let draws = 0;
    const random = () => (draws++, 0.5);
    settle(job(), { kind: 'uploaded', sizeBytes: 1 }, AT, policy, random);
    settle(job(), { kind: 'fail', reason: 'no', sizeBytes: 1 }, AT, policy, random);
    expect(draws).toBe(0);
    const after = settle(job({ attempts: 2, consecutiveFailures: 1 }), counted(), AT, policy, random);
    expect(draws).toBe(1);
    // the 2nd failure in a row → ceiling 2 000; 0.5 → 1 500
    expect(after.nextAttemptAt).toBe(AT + 1_500);
  });
});
