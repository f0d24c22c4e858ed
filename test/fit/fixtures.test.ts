/**
 * Real device files: the activity carries what the decoder itself reads from the session
 * message (start, elapsed time, distance, ascent, heart rate), decoded here independently with
 * the same library. No hand-typed numbers.
 */
import { describe, expect, it } from 'vitest';
import { decodeFitActivity, type FitDecodeResult } from '../../lambdas/fit/index.js';
import { columnProblems, fitFileParserRead, fixture, ms, sdkRead } from './support/fixtures.js';
import { decodePolyline } from './support/polyline-decode.js';

type Ok = Extract<FitDecodeResult, { ok: true }>;
function activityOf(file: string): Ok {
  const result = decodeFitActivity(fixture(file));
  if (!result.ok) throw new Error(`${file}: ${result.error.code}: ${result.error.message}`);
  expect(columnProblems(result.activity)).toEqual([]);
  return result;
}

const SEMICIRCLES = 180 / 2 ** 31;
const noteCodes = (r: Ok) => r.notes.map((n) => n.code);

/** Session values as the SDK reads them, in the activity's units and rounding. */
function expectSessionValues(r: Ok, s: Record<string, unknown>) {
  expect(r.activity.started_at).toBe(ms(s.startTime));
  expect(r.activity.duration_s).toBeCloseTo(s.totalElapsedTime as number, 3);
  if (s.totalDistance !== undefined) expect(r.activity.distance_m).toBeCloseTo(s.totalDistance as number, 2);
  expect(r.activity.elevation_gain_m).toBe(s.totalAscent ?? null);
  if (s.avgHeartRate !== undefined) expect(r.activity.avg_heart_rate).toBe(s.avgHeartRate);
}

/** The polyline starts and ends where the session's GPS records do. */
function expectRouteEndpoints(r: Ok, records: Record<string, unknown>[], fromMs: number, toMs: number) {
  const gps = records.filter((x) => x.positionLat !== undefined && ms(x.timestamp) >= fromMs && ms(x.timestamp) <= toMs);
  expect(gps.length).toBeGreaterThan(1);
  const decoded = decodePolyline(r.activity.route_polyline!);
  const deg = (x: Record<string, unknown>) => [(x.positionLat as number) * SEMICIRCLES, (x.positionLong as number) * SEMICIRCLES];
  for (const [point, record] of [
    [decoded[0]!, gps[0]!],
    [decoded.at(-1)!, gps.at(-1)!],
  ] as const) {
    const [lat, lon] = deg(record);
    expect(point[0]).toBeCloseTo(lat!, 5);
    expect(point[1]).toBeCloseTo(lon!, 5);
  }
  expect(r.activity.route_polyline!.length).toBeLessThanOrEqual(16 * 1024);
}

describe('real files read by the Garmin SDK', () => {
  it('a plain Garmin run (Fenix 2): session values, heart rate from records, route', () => {
    const file = 'python-fitparse/activity-small-fenix2-run.fit';
    const r = activityOf(file);
    const { sessions, records } = sdkRead(fixture(file));
    const s = sessions[0]!;
    expect(r).toMatchObject({ decoder: 'garmin-fitsdk', sessions: 1, records: records.length, selectedSession: 0 });
    expect(r.activity.sport).toBe('running');
    expect(r.activity.gps_source).toBe('garmin');
    expectSessionValues(r, s);
    // This session has no avg_heart_rate: the mean of its records' values stands in.
    expect(s.avgHeartRate).toBeUndefined();
    const hrs = records.map((x) => x.heartRate).filter((v): v is number => typeof v === 'number' && v > 0);
    expect(r.activity.avg_heart_rate).toBe(Math.round(hrs.reduce((a, b) => a + b, 0) / hrs.length));
    expect(noteCodes(r)).toEqual(['heart_rate_from_records']);
    const start = ms(s.startTime);
    expectRouteEndpoints(r, records, start, start + (s.totalElapsedTime as number) * 1000);
  });

  it('a non-Garmin watch (TomTom Runner 3), non-running sport: a cycling activity', () => {
    const file = 'FITfileR/tomtom-runner3-ride.fit';
    const r = activityOf(file);
    const { sessions, records } = sdkRead(fixture(file));
    expect(r.activity.sport).toBe('cycling');
    expectSessionValues(r, sessions[0]!);
    expect(r.activity.avg_heart_rate).toBeNull(); // no heart rate anywhere in the file
    const start = ms(sessions[0]!.startTime);
    expectRouteEndpoints(r, records, start, start + (sessions[0]!.totalElapsedTime as number) * 1000);
  });

  it('a sport outside the vocabulary (Suunto snorkeling) → other, FIT sport kept for logs', () => {
    const r = activityOf('fit-parser/snorkeling-unknown-sport.fit');
    expect(r.activity.sport).toBe('other');
    expect(r.fitSport).toBe('snorkeling');
    expectSessionValues(r, sdkRead(fixture('fit-parser/snorkeling-unknown-sport.fit')).sessions[0]!);
  });

  it('a chained file (FR955 walk + 3 HRM-Pro segments): one walk, the SDK merging strap heart rate', () => {
    const file = 'muktihari-fit/HrmPluginTestActivity.fit';
    const r = activityOf(file);
    const { sessions } = sdkRead(fixture(file));
    expect(r.activity.sport).toBe('walking');
    expect(r.sessions).toBe(1);
    expectSessionValues(r, sessions[0]!);
    expect(noteCodes(r)).toContain('chained_files');
    expect(r.notes.find((n) => n.code === 'chained_files')?.message).toMatch(/4 chained FIT files/);
  });

  it('multisport (MTB then trail run): the trail run, without a route (no GPS in this file)', () => {
    const file = 'muktihari-fit/activity_multisport.fit';
    const r = activityOf(file);
    const { sessions, records } = sdkRead(fixture(file));
    expect(sessions.map((s) => s.sport)).toEqual(['cycling', 'running']);
    expect(r.selectedSession).toBe(1);
    expect(r.activity.sport).toBe('trail_running');
    expectSessionValues(r, sessions[1]!);
    expect(records.some((x) => x.positionLat !== undefined)).toBe(false);
    expect(r.activity.route_polyline).toBeNull();
    expect(noteCodes(r)).toContain('multiple_sessions');
  });

  it('a chained triathlon (FR920XT swim/bike/run + HR segments): the run, its route from its own time window', () => {
    const file = 'python-fitparse/sample_mulitple_header.fit';
    const r = activityOf(file);
    const { sessions, records } = sdkRead(fixture(file));
    const run = sessions.findIndex((s) => s.sport === 'running');
    expect(run).toBe(4);
    expect(r.selectedSession).toBe(run);
    expect(r.activity.sport).toBe('running');
    expectSessionValues(r, sessions[run]!);
    const start = ms(sessions[run]!.startTime);
    expectRouteEndpoints(r, records, start, start + (sessions[run]!.totalElapsedTime as number) * 1000);
  });

  it('developer fields and an indoor ride (Wahoo, unterminated strings): no route', () => {
    const file = 'tormoder-fit/unterminated-strings.fit';
    const r = activityOf(file);
    expect(r.decoder).toBe('garmin-fitsdk');
    expect(r.activity).toMatchObject({ sport: 'cycling', route_polyline: null });
    expectSessionValues(r, sdkRead(fixture(file)).sessions[0]!);
  });

  it('records without a session (activity_truncated.fit): derived from the records', () => {
    const file = 'muktihari-fit/activity_truncated.fit';
    const r = activityOf(file);
    const { sessions, records } = sdkRead(fixture(file));
    expect(sessions).toHaveLength(0);
    const first = records[0]!;
    const last = records.at(-1)!;
    expect(r.selectedSession).toBeNull();
    expect(r.activity).toMatchObject({
      sport: 'other', // no sport message either
      started_at: ms(first.timestamp),
      duration_s: (ms(last.timestamp) - ms(first.timestamp)) / 1000,
      elevation_gain_m: null,
      route_polyline: null,
    });
    expect(r.activity.distance_m).toBeCloseTo((last.distance as number) - (first.distance as number), 2);
    expect(noteCodes(r)).toEqual(['no_session']);
  });

  it.each([
    ['muktihari-fit/valid_only_contain_fileid.fit', /no session and too few timed records/], // one record
    ['python-fitparse/DeveloperData.fit', /no session and too few timed records/], // records without timestamps
    ['python-fitparse/Settings.fit', /not an activity: it holds settings data/],
  ])('a valid file without an activity (%s) → no_activity', (file, message) => {
    const result = decodeFitActivity(fixture(file));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('no_activity');
      expect(result.error.message).toMatch(message);
    }
  });
});

describe('valid files the Garmin SDK cannot read → fit-file-parser', () => {
  it.each(['python-fitparse/compressed-speed-distance.fit', 'python-fitparse/antfs-dump.63.fit'])(
    'compressed-timestamp headers (%s): values of fit-file-parser’s session, start flagged as device-relative',
    (file) => {
      const bytes = fixture(file);
      expect(sdkRead(bytes).errors.map(String).join()).toMatch(/compressed timestamp/);
      const r = activityOf(file);
      const s = fitFileParserRead(bytes).sessions![0]!;
      expect(r.decoder).toBe('fit-file-parser');
      expect(r.activity.sport).toBe('running');
      expect(r.activity.started_at).toBe(s.start_time!.getTime());
      expect(r.activity.duration_s).toBeCloseTo(s.total_elapsed_time!, 3);
      expect(r.activity.avg_heart_rate).toBe(s.avg_heart_rate);
      expect(r.activity.route_polyline).toBeNull(); // FR70: no GPS
      if (s.total_distance === undefined) expect(r.activity.distance_m).toBeNull(); // nor distance in the records
      else expect(r.activity.distance_m).toBeCloseTo(s.total_distance, 2);
      expect(noteCodes(r)).toEqual(expect.arrayContaining(['fallback_decoder', 'relative_start_time']));
    },
  );

  it('a triathlon with its summary first, on which the SDK fails: the run of the triathlon', () => {
    const file = 'muktihari-fit/triathlon_summary_first.fit';
    const bytes = fixture(file);
    expect(sdkRead(bytes).errors.length).toBeGreaterThan(0);
    const r = activityOf(file);
    const parsed = fitFileParserRead(bytes);
    const sessions = parsed.sessions!;
    const run = sessions.findIndex((s) => s.sport === 'running');
    const s = sessions[run]!;
    expect(r).toMatchObject({ decoder: 'fit-file-parser', selectedSession: run, sessions: sessions.length, records: parsed.records!.length });
    expect(r.activity).toMatchObject({ sport: 'running', started_at: s.start_time!.getTime(), elevation_gain_m: s.total_ascent, avg_heart_rate: s.avg_heart_rate });
    expect(r.activity.duration_s).toBeCloseTo(s.total_elapsed_time!, 3);
    expect(r.activity.distance_m).toBeCloseTo(s.total_distance!, 2);
    const start = s.start_time!.getTime();
    const gps = parsed.records!.filter((x) => x.position_lat !== undefined && x.timestamp!.getTime() >= start && x.timestamp!.getTime() <= start + s.total_elapsed_time! * 1000);
    const decoded = decodePolyline(r.activity.route_polyline!);
    expect(decoded[0]![0]).toBeCloseTo(gps[0]!.position_lat!, 5);
    expect(decoded.at(-1)![1]).toBeCloseTo(gps.at(-1)!.position_long!, 5);
  });
});
