/**
 * FIT sport/sub-sport → the app's sport vocabulary (the `activities.sport` column).
 *
 * The vocabulary is small on purpose: the app groups, filters and plans by it. Road, track,
 * treadmill, indoor and virtual runs are all `running` (a missing route tells indoor apart);
 * only trail runs get their own value. Sports outside the list become `other`; the FIT names
 * stay available to the caller (`FitDecodeResult.fitSport`) for logging.
 */
export const ACTIVITY_SPORTS = [
  'running',
  'trail_running',
  'cycling',
  'swimming',
  'walking',
  'hiking',
  'rowing',
  'cross_country_skiing',
  'strength_training',
  'other',
] as const;

export type ActivitySport = (typeof ACTIVITY_SPORTS)[number];

/** FIT sports (snake_case names) that map one to one, whatever the sub-sport. */
const BY_SPORT: Readonly<Record<string, ActivitySport>> = {
  cycling: 'cycling',
  e_biking: 'cycling',
  swimming: 'swimming',
  walking: 'walking',
  hiking: 'hiking',
  rowing: 'rowing',
  cross_country_skiing: 'cross_country_skiing',
};

/** `fitness_equipment` and `training` are umbrellas: their sub-sport names the activity. */
const BY_EQUIPMENT_SUB_SPORT: Readonly<Record<string, ActivitySport>> = {
  treadmill: 'running',
  indoor_running: 'running',
  indoor_cycling: 'cycling',
  spin: 'cycling',
  indoor_rowing: 'rowing',
  indoor_walking: 'walking',
  strength_training: 'strength_training',
};

export function activitySportOf(fitSport: string | null, fitSubSport: string | null): ActivitySport {
  if (fitSport === 'running') return fitSubSport === 'trail' ? 'trail_running' : 'running';
  const direct = fitSport === null ? undefined : BY_SPORT[fitSport];
  if (direct) return direct;
  if ((fitSport === 'fitness_equipment' || fitSport === 'training') && fitSubSport !== null) {
    return BY_EQUIPMENT_SUB_SPORT[fitSubSport] ?? 'other';
  }
  return 'other';
}

export function isRunning(sport: ActivitySport): boolean {
  return sport === 'running' || sport === 'trail_running';
}
