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

/**
 * Messages the processor decodes at most. Garmin's SDK keeps every decoded message as an object
 * until it returns (~0.7–0.8 KB each, whatever the fields), so memory grows with this count:
 * measured with the handler bundled as deployed (bench/fit.ts), 398,000 records of 18 fields peak
 * at 396 MB RSS in 4.3 s, inside the 512 MB / 60 s Lambda. (~110 h of 1 Hz recording.)
 */
export const FIT_MAX_MESSAGES = 400_000;

/**
 * The fewest bytes per message, on average over a whole file, of any real recording we have: the
 * 40 decodable files of ../shared/fixtures/fit with ≥ 1,000 messages average 11 (a Suunto
 * strength session) to 51 bytes; GPS runs and rides 23–45. (A FIT message can be 2 bytes, but
 * no device writes files of them.)
 */
export const MIN_FIT_BYTES_PER_MESSAGE = 11;

/**
 * The largest FIT upload, bytes: the one constant of the presign policy (FIT_MAX_BYTES, lower
 * only) and the processor. A file this size holds at most FIT_MAX_MESSAGES messages of the
 * smallest real average size, so what the presign accepts the processor processes within its
 * memory and timeout: 4,400,000 bytes (4.2 MiB). Measured at this size (bench/fit.ts): 399,908
 * records of 11 bytes peak at 348 MB RSS in 1.0 s; 93,594 rich records (26 h at 1 Hz) at 185 MB.
 */
export const FIT_MAX_BYTES = FIT_MAX_MESSAGES * MIN_FIT_BYTES_PER_MESSAGE;

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
