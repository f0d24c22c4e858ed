/**
 * Edge cases written with Garmin's Encoder (support/synthetic.ts). Expected values come from
 * decoding the same bytes with the SDK, plus what the generator's parameters imply.
 */
import { describe, expect, it } from 'vitest';
import { decodeFitActivity, type FitDecodeResult } from '../../lambdas/fit/index.js';
import { columnProblems, ms, sdkRead } from './support/fixtures.js';
import { decodePolyline } from './support/polyline-decode.js';
import { SYNTHETIC_START, syntheticActivity, syntheticRun } from './support/synthetic.js';

type Ok = Extract<FitDecodeResult, { ok: true }>;
function decodeOk(bytes: Uint8Array, limits?: Parameters<typeof decodeFitActivity>[1]): Ok {
  const result = decodeFitActivity(bytes, limits);
  if (!result.ok) throw result.error;
  expect(columnProblems(result.activity)).toEqual([]);
  return result;
}
const SEMICIRCLES = 180 / 2 ** 31;
const noteCodes = (r: Ok) => r.notes.map((n) => n.code);

function gpsOf(records: Record<string, unknown>[]) {
  return records.filter((r) => r.positionLat !== undefined).map((r) => ({ t: ms(r.timestamp), lat: (r.positionLat as number) * SEMICIRCLES, lon: (r.positionLong as number) * SEMICIRCLES }));
}

describe('a 10-hour ultra with GPS every second (36,000 records)', () => {
  const bytes = syntheticRun({ hours: 10, gps: true, laps: 20 });
  const sdk = sdkRead(bytes);

  it('decodes every record and the session values exactly', () => {
    expect(sdk.records).toHaveLength(36_000);
    const r = decodeOk(bytes);
    const s = sdk.sessions[0]!;
    expect(r).toMatchObject({ decoder: 'garmin-fitsdk', records: 36_000, sessions: 1 });
    expect(r.activity).toMatchObject({
      sport: 'running',
      started_at: ms(s.startTime),
      duration_s: s.totalElapsedTime,
      distance_m: s.totalDistance,
      elevation_gain_m: s.totalAscent,
      avg_heart_rate: s.avgHeartRate,
      gps_source: 'garmin',
    });
    expect(r.activity.started_at).toBe(SYNTHETIC_START.getTime());
    expect(r.activity.duration_s).toBe(36_000);
    expect(r.activity.distance_m).toBe(108_000);
  });

  it.each([16 * 1024, 4096, 64 * 1024])('simplifies the route to at most %i bytes, from its first to its last fix', (maxPolylineBytes) => {
    const r = decodeOk(bytes, { maxPolylineBytes });
    const polyline = r.activity.route_polyline!;
    expect(polyline.length).toBeLessThanOrEqual(maxPolylineBytes);
    const decoded = decodePolyline(polyline);
    expect(decoded.length).toBeGreaterThan(maxPolylineBytes / 40); // a real route, not a few points
    expect(decoded.length).toBeLessThan(36_000);
    const gps = gpsOf(sdk.records);
    expect(decoded[0]![0]).toBeCloseTo(gps[0]!.lat, 5);
    expect(decoded[0]![1]).toBeCloseTo(gps[0]!.lon, 5);
    expect(decoded.at(-1)![0]).toBeCloseTo(gps.at(-1)!.lat, 5);
    expect(decoded.at(-1)![1]).toBeCloseTo(gps.at(-1)!.lon, 5);
    expect(r.notes.find((n) => n.code === 'route_simplified')?.message).toMatch(new RegExp(`from 36000 to ${decoded.length} points`));
  });

  it('caps the points considered for the route (maxRoutePoints) without changing the values', () => {
    const r = decodeOk(bytes, { maxRoutePoints: 1000 });
    expect(decodePolyline(r.activity.route_polyline!).length).toBeLessThanOrEqual(1000);
    expect(r.activity.distance_m).toBe(108_000);
  });
});

describe('other synthetic activities', () => {
  it('a run without GPS (treadmill): every value but no route', () => {
    const bytes = syntheticRun({ seconds: 1800, gps: false, subSport: 'treadmill' });
    const r = decodeOk(bytes);
    const s = sdkRead(bytes).sessions[0]!;
    expect(r.activity).toEqual({
      sport: 'running',
      started_at: ms(s.startTime),
      duration_s: s.totalElapsedTime,
      distance_m: s.totalDistance,
      elevation_gain_m: s.totalAscent,
      avg_heart_rate: s.avgHeartRate,
      route_polyline: null,
      gps_source: 'garmin',
    });
    expect(r.fitSubSport).toBe('treadmill');
    expect(r.notes).toEqual([]);
  });

  it('a run of 400 laps: one activity with the session totals, laps do not matter', () => {
    const bytes = syntheticRun({ seconds: 2 * 3600, laps: 400 });
    const { sessions } = sdkRead(bytes);
    expect(sessions[0]!.numLaps).toBe(400);
    const r = decodeOk(bytes);
    expect(r.activity).toMatchObject({ duration_s: 7200, distance_m: sessions[0]!.totalDistance, avg_heart_rate: sessions[0]!.avgHeartRate });
    expect(decodePolyline(r.activity.route_polyline!).length).toBeGreaterThan(100);
  });

  it('swim + bike + run: the run, its route only from its own records', () => {
    const bytes = syntheticActivity({
      sessions: [
        { sport: 'swimming', subSport: 'openWater', seconds: 600, gps: false },
        { sport: 'cycling', seconds: 1200 },
        { sport: 'running', seconds: 900 },
      ],
    });
    const { sessions, records } = sdkRead(bytes);
    const r = decodeOk(bytes);
    expect(r.selectedSession).toBe(2);
    expect(r.activity).toMatchObject({ sport: 'running', started_at: ms(sessions[2]!.startTime), duration_s: 900, distance_m: sessions[2]!.totalDistance });
    const runStart = ms(sessions[2]!.startTime);
    const runGps = gpsOf(records).filter((p) => p.t >= runStart);
    const decoded = decodePolyline(r.activity.route_polyline!);
    expect(decoded).toHaveLength(900); // 15 minutes fit the budget whole
    expect(decoded[0]![0]).toBeCloseTo(runGps[0]!.lat, 5); // not the ride's first point
  });

  it('no run among the sessions: the longest one', () => {
    const r = decodeOk(syntheticActivity({ sessions: [{ sport: 'swimming', seconds: 600, gps: false }, { sport: 'cycling', seconds: 1200 }, { sport: 'walking', seconds: 300 }] }));
    expect(r.selectedSession).toBe(1);
    expect(r.activity).toMatchObject({ sport: 'cycling', duration_s: 1200 });
  });

  it('a session without total distance or average heart rate: both from its records', () => {
    const bytes = syntheticActivity({ sessions: [{ seconds: 600, omitSessionTotals: true }] });
    const { records } = sdkRead(bytes);
    const r = decodeOk(bytes);
    const hr = records.map((x) => x.heartRate as number);
    expect(r.activity.distance_m).toBe((records.at(-1)!.distance as number) - (records[0]!.distance as number));
    expect(r.activity.avg_heart_rate).toBe(Math.round(hr.reduce((a, b) => a + b, 0) / hr.length));
    expect(noteCodes(r)).toEqual(['distance_from_records', 'heart_rate_from_records']);
  });

  it('a watch that never wrote its summary: derived from records', () => {
    const bytes = syntheticActivity({ summary: false, sessions: [{ seconds: 300 }] });
    const { records, sessions } = sdkRead(bytes);
    expect(sessions).toHaveLength(0);
    const r = decodeOk(bytes);
    expect(r.activity).toMatchObject({
      sport: 'other',
      started_at: ms(records[0]!.timestamp),
      duration_s: 299,
      distance_m: (records.at(-1)!.distance as number) - (records[0]!.distance as number),
      elevation_gain_m: null,
    });
    expect(decodePolyline(r.activity.route_polyline!)).toHaveLength(300);
  });

  it('a chained run and ride: the run, from its own FIT file', () => {
    const run = syntheticRun({ seconds: 600, start: new Date('2024-06-01T07:00:00Z') });
    const ride = syntheticActivity({ start: new Date('2024-06-01T07:00:00Z'), sessions: [{ sport: 'cycling', seconds: 1800 }] });
    const chained = new Uint8Array(ride.length + run.length);
    chained.set(ride);
    chained.set(run, ride.length);
    const r = decodeOk(chained);
    expect(r).toMatchObject({ sessions: 2, selectedSession: 1, records: 2400 });
    expect(r.activity).toMatchObject({ sport: 'running', duration_s: 600 });
    // Same start time in both files: the run's route takes only the run file's 600 points.
    expect(decodePolyline(r.activity.route_polyline!)).toHaveLength(600);
    expect(noteCodes(r)).toEqual(expect.arrayContaining(['chained_files', 'multiple_sessions']));
  });
});
