import { describe, expect, it } from 'vitest';
import { DEFAULT_FIT_LIMITS, decodeFitActivity, resolveFitLimits } from '../../lambdas/fit/index.js';
import { FIT_MAX_BYTES, FIT_MAX_MESSAGES, MIN_FIT_BYTES_PER_MESSAGE } from '../../lambdas/fit/limits.js';

describe('FIT limits', () => {
  it('defaults to the one FIT size bound (4,400,000 bytes: 400,000 messages of the smallest real average) and a 16 KiB polyline', () => {
    expect(resolveFitLimits()).toEqual(DEFAULT_FIT_LIMITS);
    expect(FIT_MAX_BYTES).toBe(FIT_MAX_MESSAGES * MIN_FIT_BYTES_PER_MESSAGE);
    expect(DEFAULT_FIT_LIMITS).toMatchObject({ maxBytes: 4_400_000, maxMessages: 400_000, maxPolylineBytes: 16 * 1024 });
    expect(resolveFitLimits({ maxBytes: 1000 })).toMatchObject({ maxBytes: 1000, maxMessages: DEFAULT_FIT_LIMITS.maxMessages });
  });

  it('refuses bounds that make no sense (a programming error, not a file error)', () => {
    expect(() => resolveFitLimits({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => resolveFitLimits({ maxMessages: 1.5 })).toThrow(RangeError);
    expect(() => resolveFitLimits({ maxPolylineBytes: 65 * 1024 })).toThrow(/64|65536/);
    expect(() => resolveFitLimits({ maxPolylineBytes: 16 })).toThrow(RangeError);
    expect(() => resolveFitLimits({ maxRoutePoints: 1 })).toThrow(RangeError);
    expect(() => decodeFitActivity(new Uint8Array(0), { maxBytes: -1 })).toThrow(RangeError);
  });
});
