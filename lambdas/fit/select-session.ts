/**
 * One activity per file: the server derives the activity id from the upload id, so a
 * multisport or chained file still yields exactly one activity. The rule:
 *   1. the first running session (FIT sport `running` with any sub-sport — road, trail,
 *      treadmill, track — or a treadmill on `fitness_equipment`), in file order;
 *   2. otherwise the longest session by elapsed time (the first of equals).
 * A running coach cares about the run of a triathlon or brick; for anything else the main
 * part of the workout is the best single summary.
 */
import type { SessionFacts } from './decoded.js';
import { activitySportOf, isRunning } from './sport.js';

/** Elapsed seconds, from the session's own total or its start and end times; 0 if unknown. */
export function sessionElapsedS(s: SessionFacts): number {
  if (s.elapsedS !== null) return s.elapsedS;
  if (s.startMs !== null && s.endMs !== null && s.endMs >= s.startMs) return (s.endMs - s.startMs) / 1000;
  return 0;
}

/** Index of the session the activity is built from; `sessions` must not be empty. */
export function selectSession(sessions: readonly SessionFacts[]): number {
  const firstRun = sessions.findIndex((s) => isRunning(activitySportOf(s.fitSport, s.fitSubSport)));
  if (firstRun >= 0) return firstRun;
  let longest = 0;
  sessions.forEach((s, i) => {
    if (sessionElapsedS(s) > sessionElapsedS(sessions[longest]!)) longest = i;
  });
  return longest;
}
