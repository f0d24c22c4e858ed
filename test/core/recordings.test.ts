/** The pure matching of FIT recordings to activities (lambdas/core/recordings.ts). */
import { describe, expect, it } from 'vitest';
import { candidateWindow, MATCH_RULES, matchRecording, recordingKeys, sportsCompatible, type ActivityCandidate } from '../../lambdas/core/recordings.js';

const T = Date.parse('2024-06-01T07:00:00Z');
const MIN = 60_000;
const rec = { startedAt: T, durationS: 3600, sport: 'running' };
const act = (id: string, startOffsetMin: number, durationMin: number | null, o: Partial<ActivityCandidate> = {}): ActivityCandidate => ({
  id,
  started_at: T + startOffsetMin * MIN,
  duration_s: durationMin === null ? null : durationMin * 60,
  sport: 'running',
  gps_source: 'manual',
  ...o,
});

describe('recordingKeys', () => {
  const sha = 'a'.repeat(64);
  const fileId = { manufacturer: 1, product: 1967, serialNumber: 3882015183, timeCreatedMs: 1439652761000 };
  it('file_id first, then the content hash', () => {
    expect(recordingKeys({ fileId, sha256: sha })).toEqual([`F#1#1967#3882015183#1439652761000`, `H#${sha}`]);
  });
  it('no serial number, no creation time, or a device-relative time → the hash alone', () => {
    expect(recordingKeys({ fileId: { ...fileId, serialNumber: null }, sha256: sha })).toEqual([`H#${sha}`]);
    expect(recordingKeys({ fileId: { ...fileId, timeCreatedMs: null }, sha256: sha })).toEqual([`H#${sha}`]);
    // 1990-07-09: FIT time 0x0E…, counted from power-on, repeats across recordings of that device.
    expect(recordingKeys({ fileId: { ...fileId, timeCreatedMs: 647506841000 }, sha256: sha })).toEqual([`H#${sha}`]);
    expect(recordingKeys({ fileId: null, sha256: sha })).toEqual([`H#${sha}`]);
  });
  it('a missing manufacturer or product is spelled `-`', () => {
    expect(recordingKeys({ fileId: { ...fileId, manufacturer: null, product: null }, sha256: sha })[0]).toBe('F#-#-#3882015183#1439652761000');
  });
});

describe('matchRecording', () => {
  it('no candidates → new', () => {
    expect(matchRecording(rec, [])).toEqual({ kind: 'new', considered: [] });
  });
  it('a manual activity overlapping at least half of the shorter interval → merge', () => {
    expect(matchRecording(rec, [act('m', 5, 45)])).toMatchObject({ kind: 'merge', activityId: 'm' });
    // 30 of its 60 minutes: exactly the threshold.
    expect(matchRecording(rec, [act('half', 30, 60)])).toMatchObject({ kind: 'merge', activityId: 'half' });
  });
  it('less than half → new (the candidate is reported as rejected)', () => {
    const d = matchRecording(rec, [act('m', 31, 60)]);
    expect(d.kind).toBe('new');
    expect(d.considered).toEqual([expect.objectContaining({ id: 'm', rejected: 'no_overlap' })]);
  });
  it('back to back or hours apart → new', () => {
    expect(matchRecording(rec, [act('after', 60, 30), act('before', -40, 40), act('evening', 11 * 60, 60)]).kind).toBe('new');
  });
  it('an activity without duration is a point: within 15 minutes of the recording → merge, beyond → new', () => {
    expect(matchRecording(rec, [act('p', -15, null)])).toMatchObject({ kind: 'merge', activityId: 'p' });
    expect(matchRecording(rec, [act('p', 75, null)])).toMatchObject({ kind: 'merge', activityId: 'p' });
    expect(matchRecording(rec, [act('p', -16, null)]).kind).toBe('new');
    expect(matchRecording(rec, [act('p', 76, null)]).kind).toBe('new');
    // A recording without duration against an interval, and point against point.
    expect(matchRecording({ ...rec, durationS: null }, [act('i', -30, 40)])).toMatchObject({ kind: 'merge', activityId: 'i' });
    expect(matchRecording({ ...rec, durationS: null }, [act('q', 10, 0)])).toMatchObject({ kind: 'merge', activityId: 'q' });
  });
  it('an activity that already has Garmin data → duplicate_source (the first import stays)', () => {
    expect(matchRecording(rec, [act('g', 1, 58, { gps_source: 'garmin' })])).toMatchObject({ kind: 'duplicate_source', activityId: 'g' });
  });
  it('incompatible sports never match; unknown sports match any', () => {
    expect(matchRecording(rec, [act('ride', 0, 60, { sport: 'cycling' })]).kind).toBe('new');
    expect(matchRecording(rec, [act('trail', 0, 60, { sport: 'Trail Running' })]).kind).toBe('merge');
    expect(matchRecording(rec, [act('x', 0, 60, { sport: '' })]).kind).toBe('merge');
    expect(matchRecording({ ...rec, sport: 'other' }, [act('ride', 0, 60, { sport: 'cycling' })]).kind).toBe('merge');
  });
  it('several matches: the largest overlap, then the nearest start, then the smallest id — whatever the order', () => {
    const byOverlap = [act('z-best', 0, 60), act('a-partial', 20, 60)];
    const byStart = [act('far', -10, 80), act('near', 0, 80)];
    const byId = [act('b', 0, 60), act('a', 0, 60)];
    for (const [list, winner] of [[byOverlap, 'z-best'], [byStart, 'near'], [byId, 'a']] as const) {
      expect(matchRecording(rec, list)).toMatchObject({ activityId: winner });
      expect(matchRecording(rec, [...list].reverse())).toMatchObject({ activityId: winner });
    }
  });
  it('a garmin activity with the best overlap wins over a manual one (the run already has Garmin data)', () => {
    expect(matchRecording(rec, [act('manual', 10, 60), act('garmin', 0, 60, { gps_source: 'garmin' })])).toMatchObject({ kind: 'duplicate_source', activityId: 'garmin' });
  });
});

describe('candidateWindow', () => {
  it('from 24 h before the start to 15 min after the end', () => {
    expect(candidateWindow(rec)).toEqual({ from: T - MATCH_RULES.lookbackMs, to: T + 3600_000 + MATCH_RULES.pointToleranceMs });
    expect(candidateWindow({ startedAt: T, durationS: null })).toEqual({ from: T - 24 * 3_600_000, to: T + 15 * MIN });
  });
});

describe('sportsCompatible', () => {
  it.each([
    ['running', 'running', true],
    ['running', 'trail_running', true],
    ['Running', 'treadmill', true],
    ['walking', 'hiking', true],
    ['running', 'walking', false],
    ['cycling', 'swimming', false],
    ['rowing', 'rowing', true],
    [null, 'cycling', true],
    ['generic', 'swimming', true],
  ] as const)('%s ~ %s → %s', (a, b, expected) => {
    expect(sportsCompatible(a, b)).toBe(expected);
    expect(sportsCompatible(b, a)).toBe(expected);
  });
});
