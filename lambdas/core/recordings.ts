/**
 * One run, one activity: which activity a FIT recording belongs to. Pure (no I/O); the FIT
 * processor (lambdas/processing/ingest-upload.ts) reads the candidates and applies the decision.
 *
 * Two questions, in this order:
 * 1. **Identity** — is this a recording already imported? Its keys are its `file_id` (the device's
 *    manufacturer, product and serial number, and the time the file was created: a re-export
 *    re-encodes the bytes, never these) and the SHA-256 of its bytes (the same file again, even
 *    without a usable `file_id`). Each key is claimed once per user (`RecordingIndex.claim`); a key
 *    claimed by another upload makes this one `duplicate_of` that upload's activity.
 * 2. **Matching** — which of the user's activities records the same run (`matchRecording`): the
 *    one whose interval `[started_at, started_at + duration_s]` overlaps the recording's the most,
 *    with compatible sports. A manual one gets the Garmin data (server-side `garmin` write); one
 *    that already has Garmin data keeps it and this recording becomes a duplicate source.
 */
import type { TableName } from './schema.js';

/** The FIT `file_id` of a recording (FIT numbers; null where the file leaves a field out). */
export interface RecordingFileId {
  readonly manufacturer: number | null;
  readonly product: number | null;
  readonly serialNumber: number | null;
  readonly timeCreatedMs: number | null;
}

export interface RecordingFacts {
  readonly startedAt: number;
  /** Elapsed seconds; null when the file does not say. */
  readonly durationS: number | null;
  /** The activity sport the file maps to (`running`, `cycling`, … `other`). */
  readonly sport: string;
  readonly fileId: RecordingFileId | null;
  /** SHA-256 of the uploaded bytes, 64 lower-case hex digits. */
  readonly sha256: string;
}

/**
 * The identity keys of a recording, strongest first: `F#<manufacturer>#<product>#<serial>#<created>`
 * when the file names its device (serial number) and creation time (absolute: FIT times below
 * 0x10000000 s count from power-on and repeat across recordings), then `H#<sha256>`.
 */
export function recordingKeys(r: Pick<RecordingFacts, 'fileId' | 'sha256'>): string[] {
  const keys: string[] = [];
  const f = r.fileId;
  if (f && f.serialNumber !== null && f.timeCreatedMs !== null && f.timeCreatedMs >= FIT_ABSOLUTE_TIME_MIN_MS) {
    keys.push(`F#${f.manufacturer ?? '-'}#${f.product ?? '-'}#${f.serialNumber}#${f.timeCreatedMs}`);
  }
  keys.push(`H#${r.sha256}`);
  return keys;
}

/** FIT epoch (1989-12-31T00:00:00Z) + 0x10000000 s: times below are relative to device power-on. */
const FIT_ABSOLUTE_TIME_MIN_MS = (631_065_600 + 0x10000000) * 1000;

/**
 * Thresholds of the matching (see docs/recordings.md):
 * - `minOverlapRatio` 0.5: the intervals must share at least half of the shorter one. A runner's
 *   hand-typed start is often off by minutes (rounded to the quarter hour, typed afterwards), and
 *   a watch and a phone started a few minutes apart still share most of the run; two runs of one
 *   day (morning and evening, warm-up and race) do not overlap at all.
 * - `pointToleranceMs` 15 min: an activity (or recording) without a duration is a point in time;
 *   it matches when it lies within 15 minutes of the other's interval (the same hand-typing error).
 * - `lookbackMs` 24 h: candidates are activities that started at most this long before the
 *   recording (one bounded index query); a longer activity starting earlier is not considered.
 */
export const MATCH_RULES = Object.freeze({ minOverlapRatio: 0.5, pointToleranceMs: 15 * 60_000, lookbackMs: 24 * 3_600_000 });

/** The activity columns the matching reads (a stored live activity of the same user). */
export interface ActivityCandidate {
  readonly id: string;
  readonly started_at: number;
  readonly duration_s: number | null;
  readonly sport: string | null;
  readonly gps_source: string | null;
}

export interface CandidateScore {
  readonly id: string;
  /** Overlap / the shorter interval (intervals), or 1 − distance / tolerance (a point). */
  readonly score: number;
  readonly startDiffMs: number;
  readonly garmin: boolean;
  /** Why it is not a match, when it is not. */
  readonly rejected?: 'sport' | 'no_overlap';
}

export type MatchDecision =
  /** No activity records this run: the recording makes a new one. */
  | { readonly kind: 'new'; readonly considered: readonly CandidateScore[] }
  /** An activity without Garmin data records this run: the recording's data goes into it. */
  | { readonly kind: 'merge'; readonly activityId: string; readonly considered: readonly CandidateScore[] }
  /** An activity already has Garmin data of this run (another device, another file): it stays. */
  | { readonly kind: 'duplicate_source'; readonly activityId: string; readonly considered: readonly CandidateScore[] };

/** The window of `started_at` in which candidates lie: `[from, to]` inclusive. */
export function candidateWindow(r: Pick<RecordingFacts, 'startedAt' | 'durationS'>): { from: number; to: number } {
  return { from: r.startedAt - MATCH_RULES.lookbackMs, to: r.startedAt + durationMs(r.durationS) + MATCH_RULES.pointToleranceMs };
}

/**
 * The activity (if any) a recording belongs to. Deterministic for a given set of candidates,
 * whatever their order: the highest score wins, then the nearest start, then the smallest id.
 * Candidates must be live activities of the recording's own user (the caller reads them from
 * the user's partition only).
 */
export function matchRecording(r: Pick<RecordingFacts, 'startedAt' | 'durationS' | 'sport'>, candidates: readonly ActivityCandidate[]): MatchDecision {
  const considered = candidates.map((c) => scoreCandidate(r, c));
  const matches = considered
    .filter((c) => c.rejected === undefined)
    .sort((a, b) => b.score - a.score || a.startDiffMs - b.startDiffMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const best = matches[0];
  if (!best) return { kind: 'new', considered };
  return best.garmin ? { kind: 'duplicate_source', activityId: best.id, considered } : { kind: 'merge', activityId: best.id, considered };
}

function scoreCandidate(r: Pick<RecordingFacts, 'startedAt' | 'durationS' | 'sport'>, c: ActivityCandidate): CandidateScore {
  const base = { id: c.id, startDiffMs: Math.abs(c.started_at - r.startedAt), garmin: c.gps_source === 'garmin' };
  if (!sportsCompatible(r.sport, c.sport)) return { ...base, score: 0, rejected: 'sport' };
  const a = { start: r.startedAt, end: r.startedAt + durationMs(r.durationS) };
  const b = { start: c.started_at, end: c.started_at + durationMs(c.duration_s) };
  let score: number;
  if (a.end > a.start && b.end > b.start) {
    const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
    score = overlap / Math.min(a.end - a.start, b.end - b.start);
    if (!(score >= MATCH_RULES.minOverlapRatio)) return { ...base, score: Math.max(0, score), rejected: 'no_overlap' };
  } else {
    // At least one side is a point: its distance to the other side's interval (0 inside it).
    const gap = Math.max(0, a.start - b.end, b.start - a.end);
    if (gap > MATCH_RULES.pointToleranceMs) return { ...base, score: 0, rejected: 'no_overlap' };
    score = 1 - gap / MATCH_RULES.pointToleranceMs;
  }
  return { ...base, score };
}

function durationMs(durationS: number | null): number {
  return durationS !== null && Number.isFinite(durationS) && durationS > 0 ? Math.round(durationS * 1000) : 0;
}

/** Sports that name one kind of movement; a sport outside every family is its own. */
const SPORT_FAMILIES: readonly (readonly string[])[] = [
  ['running', 'trail_running', 'treadmill', 'treadmill_running', 'track_running', 'run'],
  ['walking', 'hiking', 'walk', 'hike'],
  ['cycling', 'biking', 'bike', 'ride', 'road_cycling', 'mountain_biking', 'indoor_cycling'],
];
/** Values that say nothing about the sport (a manual entry's default, FIT's `generic`). */
const UNKNOWN_SPORTS = new Set(['', 'other', 'generic', 'unknown']);

/** Sports are compatible when either is unknown, or both are in one family (case and spaces ignored). */
export function sportsCompatible(a: string | null, b: string | null): boolean {
  const norm = (s: string | null) => (s ?? '').trim().toLowerCase().replace(/[\s-]+/g, '_');
  const x = norm(a);
  const y = norm(b);
  if (UNKNOWN_SPORTS.has(x) || UNKNOWN_SPORTS.has(y) || x === y) return true;
  const family = (s: string) => SPORT_FAMILIES.findIndex((f) => f.includes(s));
  const fx = family(x);
  return fx >= 0 && fx === family(y);
}

// ---------------------------------------------------------------------------------------------
// The storage port

/** Who holds an identity key: the upload that claimed it first and the activity it went to. */
export interface RecordingClaim {
  readonly uploadId: string;
  readonly activityId: string;
}

/**
 * The user's index of recordings and the time index of their activities (DynamoDB adapter:
 * lambdas/adapters/dynamo/recordings-store.ts). Every method is scoped to one user's partition.
 */
export interface RecordingIndex {
  /**
   * Claims `key` for `claim.uploadId`, conditionally: exactly one of two concurrent claims of one
   * key wins. Returns the claim that holds the key afterwards: `claim` itself when it won (or
   * this upload already held the key: a retry), else the earlier one.
   */
  claim(userId: string, key: string, claim: RecordingClaim): Promise<RecordingClaim>;
  /** Moves `key` from `from` (the upload that must hold it) to `to`; false when `from` no longer holds it. */
  reassign(userId: string, key: string, from: string, to: RecordingClaim): Promise<boolean>;
  /** Ids of the user's live activities whose `started_at` is within `[from, to]`, at most `limit`, oldest first. */
  activitiesStartedBetween(userId: string, from: number, to: number, limit: number): Promise<string[]>;
}

/** Candidates read per recording (a day of one user's activities is far fewer). */
export const MAX_CANDIDATES = 100;

export const ACTIVITIES_TABLE: TableName = 'activities';
