/**
 * Bounds on the work one file may cause. Everything that grows with the input is capped here,
 * so a hostile or absurd file costs bounded memory and time.
 */
export interface FitLimits {
  /** Files larger than this are refused before any decoding (the upload policy's FIT bound). */
  readonly maxBytes: number;
  /**
   * Decoded messages (all kinds) after which decoding stops with `too_large`. The SDK keeps
   * every decoded message as an object until it returns, so memory grows with this count.
   */
  readonly maxMessages: number;
  /**
   * Largest file handed to the fallback decoder. fit-file-parser offers no way to stop early,
   * so its memory is bounded by its input size instead.
   */
  readonly maxFallbackBytes: number;
  /** GPS points of the chosen session considered for the route; more are thinned evenly first. */
  readonly maxRoutePoints: number;
  /** Upper bound of the encoded polyline, in bytes (its characters are ASCII). */
  readonly maxPolylineBytes: number;
}

const MiB = 1024 * 1024;

// The one FIT size bound of presign and processor lives with the upload rules (the client imports
// those; this module it does not): see lambdas/core/uploads.ts.
export { FIT_MAX_BYTES, FIT_MAX_MESSAGES, MIN_FIT_BYTES_PER_MESSAGE } from '../core/uploads.js';
import { FIT_MAX_BYTES, FIT_MAX_MESSAGES } from '../core/uploads.js';

/** The `route_polyline` column's own cap (lambdas/core/schema.ts). */
export const ROUTE_POLYLINE_COLUMN_MAX_BYTES = 64 * 1024;

/** Smallest polyline bound we accept: a start and an end point always fit (≤ 24 bytes). */
const MIN_POLYLINE_BYTES = 32;

export const DEFAULT_FIT_LIMITS: Readonly<FitLimits> = Object.freeze({
  maxBytes: FIT_MAX_BYTES,
  maxMessages: FIT_MAX_MESSAGES,
  maxFallbackBytes: 8 * MiB,
  maxRoutePoints: 50_000,
  maxPolylineBytes: 16 * 1024,
});

/** Defaults with `overrides` applied; a nonsensical bound is a programming error (RangeError). */
export function resolveFitLimits(overrides: Partial<FitLimits> = {}): FitLimits {
  const limits: FitLimits = { ...DEFAULT_FIT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`FIT limit ${name} must be a positive integer, got ${value}`);
  }
  if (limits.maxPolylineBytes < MIN_POLYLINE_BYTES || limits.maxPolylineBytes > ROUTE_POLYLINE_COLUMN_MAX_BYTES) {
    throw new RangeError(`FIT limit maxPolylineBytes must be within ${MIN_POLYLINE_BYTES}..${ROUTE_POLYLINE_COLUMN_MAX_BYTES}`);
  }
  if (limits.maxRoutePoints < 2) throw new RangeError('FIT limit maxRoutePoints must be at least 2');
  return limits;
}
