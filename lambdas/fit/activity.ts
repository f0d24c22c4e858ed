/** The values a FIT file contributes to an `activities` record, and the notes explaining them. */
import type { ActivitySport } from './sport.js';

/**
 * Column values for `activities` (lambdas/core/schema.ts). Units and rounding:
 * - `started_at`: integer ms since the epoch (FIT resolution is 1 s);
 * - `duration_s`: elapsed time including pauses, rounded to 0.001 s (FIT resolution);
 * - `distance_m`: metres, rounded to 0.01 m (FIT resolution), which also removes float noise;
 * - `elevation_gain_m`: the session's total ascent, whole metres as FIT stores it;
 * - `avg_heart_rate`: bpm, an integer (the session's value, or the mean of record values).
 */
export interface FitActivitySummary {
  readonly sport: ActivitySport;
  readonly started_at: number;
  readonly duration_s: number | null;
  readonly distance_m: number | null;
  readonly elevation_gain_m: number | null;
  readonly avg_heart_rate: number | null;
  /** Google encoded polyline (precision 5), ≤ `maxPolylineBytes`; null without GPS. */
  readonly route_polyline: string | null;
  /** Every FIT upload is `garmin` data in the conflict policy, whatever the device brand. */
  readonly gps_source: 'garmin';
}

/** Facts worth logging or showing about how a file was read; none of them is an error. */
export const FIT_NOTE_CODES = [
  'chained_files',
  'trailing_bytes_ignored',
  'fallback_decoder',
  'multiple_sessions',
  'no_session',
  'relative_start_time',
  'distance_from_records',
  'heart_rate_from_records',
  'route_simplified',
] as const;
export type FitNoteCode = (typeof FIT_NOTE_CODES)[number];

export interface FitNote {
  readonly code: FitNoteCode;
  readonly message: string;
}
