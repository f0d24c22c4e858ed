import { describe, expect, it } from 'vitest';
import type { SessionFacts } from '../../lambdas/fit/decoded.js';
import { ACTIVITY_SPORTS, activitySportOf } from '../../lambdas/fit/index.js';
import { selectSession } from '../../lambdas/fit/select-session.js';

describe('activitySportOf (FIT sport/sub-sport → app vocabulary)', () => {
  it.each([
    ['running', null, 'running'],
    ['running', 'generic', 'running'],
    ['running', 'treadmill', 'running'],
    ['running', 'track', 'running'],
    ['running', 'indoor_running', 'running'],
    ['running', 'trail', 'trail_running'],
    ['fitness_equipment', 'treadmill', 'running'],
    ['cycling', 'mountain', 'cycling'],
    ['cycling', 'indoor_cycling', 'cycling'],
    ['e_biking', null, 'cycling'],
    ['swimming', 'lap_swimming', 'swimming'],
    ['swimming', 'open_water', 'swimming'],
    ['walking', null, 'walking'],
    ['hiking', null, 'hiking'],
    ['rowing', null, 'rowing'],
    ['fitness_equipment', 'indoor_rowing', 'rowing'],
    ['cross_country_skiing', null, 'cross_country_skiing'],
    ['training', 'strength_training', 'strength_training'],
    ['training', 'yoga', 'other'],
    ['fitness_equipment', 'elliptical', 'other'],
    ['transition', null, 'other'],
    ['stand_up_paddleboarding', 'generic', 'other'],
    ['snorkeling', null, 'other'],
    ['254', null, 'other'], // an enum value newer than the profile
    [null, null, 'other'],
  ] as const)('%s / %s → %s', (sport, subSport, expected) => {
    expect(activitySportOf(sport, subSport)).toBe(expected);
    expect(ACTIVITY_SPORTS).toContain(expected);
  });
});

const session = (fitSport: string | null, elapsedS: number | null, more: Partial<SessionFacts> = {}): SessionFacts => ({
  segment: 0,
  fitSport,
  fitSubSport: null,
  startMs: 0,
  endMs: null,
  elapsedS,
  distanceM: null,
  ascentM: null,
  avgHeartRate: null,
  ...more,
});

describe('selectSession (one activity per file)', () => {
  it('takes the first running session, even when another session is longer', () => {
    expect(selectSession([session('swimming', 1800), session('transition', 120), session('cycling', 5000), session('running', 2400), session('running', 3000)])).toBe(3);
  });

  it('counts trail and treadmill runs as running', () => {
    expect(selectSession([session('cycling', 3000), session('running', 60, { fitSubSport: 'trail' })])).toBe(1);
    expect(selectSession([session('cycling', 3000), session('fitness_equipment', 60, { fitSubSport: 'treadmill' })])).toBe(1);
  });

  it('takes the longest session when none is a run, the first of equals', () => {
    expect(selectSession([session('swimming', 600), session('cycling', 1200), session('walking', 300)])).toBe(1);
    expect(selectSession([session('cycling', 1200), session('swimming', 1200)])).toBe(0);
  });

  it('measures a session without total_elapsed_time by its start and end times', () => {
    expect(selectSession([session('cycling', 100), session('swimming', null, { startMs: 0, endMs: 200_000 })])).toBe(1);
  });
});
