/**
 * DecodedFit → the activity's values: picks the session (select-session.ts), fills what the
 * session lacks from its records, and builds the route.
 *
 * A file with records but no session message (a watch that lost power before saving) still
 * becomes an activity when its first FIT file with timed records has at least two of them
 * over a positive time span: start = first record time, duration = last − first, distance =
 * last − first record distance, heart rate = mean of the records', sport from the file's
 * `sport` message (else `other`), elevation gain null (record altitude is too noisy to sum).
 * Fewer records → `no_activity`.
 */
import type { FitActivitySummary, FitNote } from './activity.js';
import type { DecodedFit, SessionFacts } from './decoded.js';
import { FitFileError } from './errors.js';
import type { FitLimits } from './limits.js';
import type { LatLon } from './polyline.js';
import { distanceSpan, gpsPoints, meanHeartRate, windowIndices, type RecordWindow } from './record-window.js';
import { buildRoute } from './route.js';
import { selectSession, sessionElapsedS } from './select-session.js';
import { activitySportOf } from './sport.js';

export interface ActivityFromFit {
  readonly activity: FitActivitySummary;
  /** Index of the session used, or null when built from records alone. */
  readonly selectedSession: number | null;
  readonly fitSport: string | null;
  readonly fitSubSport: string | null;
  readonly notes: readonly FitNote[];
}

/**
 * FIT `date_time` values below 0x10000000 s are "system time": seconds since the device was
 * switched on, because its clock was never set (Forerunner 70-era devices over ANT-FS).
 */
const FIT_EPOCH_MS = 631_065_600_000;
const RELATIVE_TIME_LIMIT_MS = FIT_EPOCH_MS + 0x10000000 * 1000;

const roundTo = (value: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};
const nonNegativeOrNull = (v: number | null, decimals: number) => (v === null || !Number.isFinite(v) || v < 0 ? null : roundTo(v, decimals));

/** The session's time span: start + elapsed, else its end timestamp, else up to the next session of its file. */
function sessionWindow(sessions: readonly SessionFacts[], index: number, startMs: number): RecordWindow {
  const s = sessions[index]!;
  const nextStart = sessions.slice(index + 1).find((n) => n.segment === s.segment && n.startMs !== null && n.startMs > startMs)?.startMs;
  const toMs = s.elapsedS !== null ? startMs + s.elapsedS * 1000 : (s.endMs ?? (nextStart != null ? nextStart - 1 : Infinity));
  return { segment: s.segment, fromMs: startMs, toMs };
}

function sessionStartMs(fit: DecodedFit, s: SessionFacts): number | null {
  if (s.startMs !== null) return s.startMs;
  if (s.endMs !== null && s.elapsedS !== null) return s.endMs - s.elapsedS * 1000;
  const { records } = fit;
  for (let i = 0; i < records.count; i++) {
    if (records.segment[i] === s.segment && Number.isFinite(records.timeMs[i]!)) return records.timeMs[i]!;
  }
  return null;
}

function fromSession(fit: DecodedFit, limits: FitLimits, notes: FitNote[]): ActivityFromFit | FitFileError {
  const index = selectSession(fit.sessions);
  const s = fit.sessions[index]!;
  const sport = activitySportOf(s.fitSport, s.fitSubSport);
  if (fit.sessions.length > 1) {
    notes.push({
      code: 'multiple_sessions',
      message: `${fit.sessions.length} sessions (${fit.sessions.map((x) => x.fitSport ?? '?').join(', ')}); used session ${index + 1} (${s.fitSport ?? '?'}, ${Math.round(sessionElapsedS(s))} s).`,
    });
  }
  const startMs = sessionStartMs(fit, s);
  if (startMs === null) return new FitFileError('no_activity', 'The FIT file has an activity without a start time, so it cannot be placed in your history.');
  const window = sessionWindow(fit.sessions, index, startMs);
  const indices = windowIndices(fit.records, window);

  let distance = s.distanceM;
  if (distance === null) {
    distance = distanceSpan(fit.records, indices);
    if (distance !== null) notes.push({ code: 'distance_from_records', message: 'The session has no total distance; used the distance its records cover.' });
  }
  let heartRate = s.avgHeartRate;
  if (heartRate === null) {
    heartRate = meanHeartRate(fit.records, indices);
    if (heartRate !== null) notes.push({ code: 'heart_rate_from_records', message: 'The session has no average heart rate; used the mean of its records (e.g. from a chained heart-rate strap file).' });
  }
  const elapsed = s.elapsedS ?? (s.endMs !== null ? (s.endMs - startMs) / 1000 : null);
  return finish(
    {
      sport,
      startMs,
      durationS: elapsed,
      distanceM: distance,
      ascentM: s.ascentM,
      heartRate,
      points: gpsPoints(fit.records, indices),
    },
    { selectedSession: index, fitSport: s.fitSport, fitSubSport: s.fitSubSport },
    limits,
    notes,
  );
}

function fromRecordsOnly(fit: DecodedFit, limits: FitLimits, notes: FitNote[]): ActivityFromFit | FitFileError {
  const { records } = fit;
  const isActivityFile = (segment: number) => (fit.fileTypes[segment] ?? 'activity') === 'activity';
  let first = -1;
  for (let i = 0; i < records.count && first < 0; i++) {
    if (Number.isFinite(records.timeMs[i]!) && isActivityFile(records.segment[i]!)) first = i;
  }
  const segment = first >= 0 ? records.segment[first]! : -1;
  const indices: number[] = [];
  for (let i = Math.max(first, 0); i < records.count; i++) {
    if (records.segment[i] === segment && Number.isFinite(records.timeMs[i]!)) indices.push(i);
  }
  const startMs = indices.length > 0 ? records.timeMs[indices[0]!]! : NaN;
  const endMs = indices.length > 0 ? records.timeMs[indices[indices.length - 1]!]! : NaN;
  if (indices.length < 2 || !(endMs > startMs)) {
    const type = fit.fileTypes.find((t): t is string => t !== null && t !== 'activity');
    return type !== undefined && !fit.fileTypes.includes('activity')
      ? new FitFileError('no_activity', `This FIT file is not an activity: it holds ${type} data.`)
      : new FitFileError('no_activity', 'This FIT file records no activity: it has no session and too few timed records.');
  }
  const hint = fit.sportHints.find((h) => h.segment === segment);
  notes.push({
    code: 'no_session',
    message: `The file has no session summary (the recording was probably interrupted); the activity was derived from its ${indices.length} records.`,
  });
  return finish(
    {
      sport: activitySportOf(hint?.fitSport ?? null, hint?.fitSubSport ?? null),
      startMs,
      durationS: (endMs - startMs) / 1000,
      distanceM: distanceSpan(records, indices),
      ascentM: null,
      heartRate: meanHeartRate(records, indices),
      points: gpsPoints(records, indices),
    },
    { selectedSession: null, fitSport: hint?.fitSport ?? null, fitSubSport: hint?.fitSubSport ?? null },
    limits,
    notes,
  );
}

interface RawValues {
  sport: FitActivitySummary['sport'];
  startMs: number;
  durationS: number | null;
  distanceM: number | null;
  ascentM: number | null;
  heartRate: number | null;
  points: LatLon[];
}

function finish(
  v: RawValues,
  meta: Pick<ActivityFromFit, 'selectedSession' | 'fitSport' | 'fitSubSport'>,
  limits: FitLimits,
  notes: FitNote[],
): ActivityFromFit | FitFileError {
  const startedAt = Math.round(v.startMs);
  if (!Number.isSafeInteger(startedAt) || startedAt < 0) return new FitFileError('no_activity', 'The FIT file has an activity with an invalid start time.');
  if (startedAt < RELATIVE_TIME_LIMIT_MS) {
    notes.push({ code: 'relative_start_time', message: "The device's clock was not set: its times count from when it was switched on, so the start date is wrong." });
  }
  const route = buildRoute(v.points, limits);
  if (route.keptPoints < route.gpsPoints) {
    notes.push({ code: 'route_simplified', message: `Route simplified from ${route.gpsPoints} to ${route.keptPoints} points (${route.polyline?.length ?? 0} bytes).` });
  }
  return {
    activity: {
      sport: v.sport,
      started_at: startedAt,
      duration_s: nonNegativeOrNull(v.durationS, 3),
      distance_m: nonNegativeOrNull(v.distanceM, 2),
      elevation_gain_m: v.ascentM === null || !Number.isFinite(v.ascentM) ? null : Math.round(v.ascentM),
      avg_heart_rate: nonNegativeOrNull(v.heartRate === null ? null : Math.round(v.heartRate), 0),
      route_polyline: route.polyline,
      gps_source: 'garmin',
    },
    ...meta,
    notes,
  };
}

export function summarizeActivity(fit: DecodedFit, limits: FitLimits, notes: FitNote[]): ActivityFromFit | FitFileError {
  return fit.sessions.length > 0 ? fromSession(fit, limits, notes) : fromRecordsOnly(fit, limits, notes);
}
