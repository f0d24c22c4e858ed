/**
 * What happens when an object lands in the uploads bucket (S3 event, at least once, maybe late):
 * the `uploads` record moves `pending → processing → processed | failed`, and a FIT file becomes
 * Garmin-sourced activity data through the same server-write rules as every other write.
 *
 * One run, one activity (lambdas/core/recordings.ts): a recording already imported (the same
 * file again, a re-export, the same run from a second device) ends `processed` with
 * `duplicate_of` and imports nothing; one without `activity_id` goes into the user's activity
 * that records the same run (a manual entry gets the Garmin data), else into a new activity
 * `fit-<upload_id>`.
 *
 * Idempotent: a duplicate event finds the upload `processed`; a retry finds its own recording
 * claims and follows the decision they hold (or re-applies the same values, a no-op). Failures a
 * runner can act on end `failed` with a readable reason; transient ones are marked and re-thrown
 * so Lambda retries (then the DLQ).
 */
import { isSyncError, ThrottledError } from '../core/errors.js';
import type { PushConfig } from '../core/push.js';
import { applyServerWrite, type ServerWriteResult } from '../core/server-write.js';
import { candidateWindow, matchRecording, MAX_CANDIDATES, recordingKeys, type ActivityCandidate, type MatchDecision, type RecordingFileId, type RecordingIndex } from '../core/recordings.js';
import type { RecordData } from '../core/schema.js';
import type { SyncStore } from '../core/store.js';
import { activityIdForUpload, parseUploadObjectKey, type UploadKind, type UploadObjects } from '../core/uploads.js';

export { activityIdForUpload };

/** The FIT decoder port: bytes → the recorded values of an activity and the file's `file_id`, or a reason. */
export type DecodeFit = (bytes: Uint8Array) => { ok: true; activity: RecordData; fileId: RecordingFileId | null } | { ok: false; reason: string };

export interface IngestDeps {
  readonly store: SyncStore;
  readonly objects: UploadObjects;
  readonly now: () => number;
  readonly config: PushConfig;
  readonly maxBytes: Readonly<Record<UploadKind, number>>;
  readonly decodeFit: DecodeFit;
  readonly sha256Hex: (bytes: Uint8Array) => string;
  readonly recordings: RecordingIndex;
  /** Told how each recording was placed (the handler logs it). */
  readonly onDecision?: (d: RecordingDecisionLog) => void;
}

/** What the processor decided for one FIT upload, for the logs. */
export interface RecordingDecisionLog {
  readonly userId: string;
  readonly uploadId: string;
  /** `explicit`: the upload named its activity; `claimed`: a retry following its own earlier claim. */
  readonly decision: MatchDecision['kind'] | 'explicit' | 'claimed' | 'duplicate';
  readonly activityId: string;
  readonly considered?: MatchDecision['considered'];
}

export type IngestOutcome =
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'duplicate'; readonly uploadId: string }
  | {
      readonly outcome: 'processed';
      readonly uploadId: string;
      readonly activityId?: string;
      readonly activity?: ServerWriteResult['action'];
      /** The recording was already imported (or the run has Garmin data): nothing was written but the upload's status. */
      readonly duplicateOf?: string;
    }
  | { readonly outcome: 'failed'; readonly uploadId: string; readonly reason: string };


export async function ingestUploadedObject(key: string, deps: IngestDeps): Promise<IngestOutcome> {
  const parts = parseUploadObjectKey(key);
  if (!parts) return { outcome: 'ignored', reason: `key outside the upload layout: ${key}` };
  const { userId, uploadId, kind } = parts;
  const [upload] = await deps.store.getRecords(userId, [{ table: 'uploads', id: uploadId }]);
  if (!upload || upload.deleted_at !== null) return { outcome: 'ignored', reason: `no upload record ${uploadId}` };
  if (upload.data.kind !== kind) return { outcome: 'ignored', reason: `upload ${uploadId} is a ${String(upload.data.kind)}, not a ${kind}` };
  if (upload.data.status === 'processed') return { outcome: 'duplicate', uploadId };

  const setStatus = (values: RecordData) => applyServerWrite(userId, { source: 'upload-service', table: 'uploads', id: uploadId, values }, deps);
  const fail = async (reason: string): Promise<IngestOutcome> => {
    await setStatus({ status: 'failed', error: reason });
    return { outcome: 'failed', uploadId, reason };
  };

  try {
    const head = await deps.objects.head(key);
    if (!head) return { outcome: 'ignored', reason: `object ${key} is gone` };
    if (head.size !== upload.data.size_bytes) {
      return await fail(`The file has ${head.size} bytes but ${String(upload.data.size_bytes)} were declared; upload it again.`);
    }
    if (kind === 'image') {
      await setStatus({ status: 'processed', error: null });
      return { outcome: 'processed', uploadId };
    }
    if (head.size > deps.maxBytes.fit) return await fail(`The file is larger than the ${sizeLimitText(deps.maxBytes.fit)} limit.`);
    await setStatus({ status: 'processing', error: null });

    const bytes = await deps.objects.read(key, deps.maxBytes.fit);
    const sha256 = deps.sha256Hex(bytes);
    const declared = head.declaredSha256 ?? head.checksumSha256;
    if (declared && sha256 !== declared) {
      return await fail("The file's SHA-256 does not match the one declared when the upload started; it was changed or damaged. Upload it again.");
    }
    const decoded = deps.decodeFit(bytes);
    if (!decoded.ok) return await fail(decoded.reason);

    const placed = await placeRecording(userId, uploadId, upload.data, { activity: decoded.activity, fileId: decoded.fileId, sha256 }, deps);
    if (placed.duplicateOf !== undefined) {
      await setStatus({ status: 'processed', error: null, duplicate_of: placed.duplicateOf });
      return { outcome: 'processed', uploadId, duplicateOf: placed.duplicateOf };
    }
    const activityId = placed.activityId;
    const written = await applyServerWrite(userId, { source: 'garmin', table: 'activities', id: activityId, values: { ...decoded.activity, upload_id: uploadId } }, deps);
    if (written.action === 'ignored') return await fail('The activity was deleted before the file was processed; nothing was imported.');
    await setStatus({ status: 'processed', error: null, activity_id: activityId, duplicate_of: null });
    return { outcome: 'processed', uploadId, activityId, activity: written.action };
  } catch (e) {
    // (Every `fail` above is awaited inside the try, so a transient fault while recording a
    // failure lands here too, instead of leaving the record in `processing`.)
    // Transient (throttling, S3 or DynamoDB hiccups): say so on the record, then let Lambda retry.
    if (!isSyncError(e) || e instanceof ThrottledError || e.statusCode >= 500) {
      await setStatus({ status: 'failed', error: 'Processing hit a temporary error; it is retried automatically (twice), and if it still fails, this status stays. Upload the file again to retry later.' }).catch(() => undefined);
      throw e;
    }
    return fail(e.message);
  }
}

/**
 * Where a decoded recording goes: into `activityId` (its data is imported there), or nowhere
 * (`duplicateOf`: the activity that already has this recording or this run's Garmin data).
 *
 * 1. The activity: the upload's own `activity_id`, else the user's activity recording the same
 *    run (`matchRecording` over the activities started in the candidate window), else a new one.
 * 2. The recording's identity keys are claimed in order (file_id, then content hash), each with
 *    the activity of step 1. A key another upload holds makes this upload a duplicate of that
 *    upload's activity, unless that activity has since been deleted (the runner is importing the
 *    run again) or was never written by an upload that failed for good: then the key moves to
 *    this upload. A key this upload already holds (a retry) gives the activity it decided the
 *    first time. Keys this upload won before losing a later one are
 *    moved to the winner's activity, so the next copy of either file resolves the same way.
 * 3. A run that already has Garmin data from another recording (`duplicate_source`) keeps it:
 *    the first recording imported wins; this one is a duplicate source.
 */
async function placeRecording(
  userId: string,
  uploadId: string,
  upload: RecordData,
  recording: { activity: RecordData; fileId: RecordingFileId | null; sha256: string },
  deps: IngestDeps,
): Promise<{ activityId: string; duplicateOf?: undefined } | { duplicateOf: string }> {
  const facts = {
    startedAt: Number(recording.activity.started_at),
    durationS: typeof recording.activity.duration_s === 'number' ? recording.activity.duration_s : null,
    sport: typeof recording.activity.sport === 'string' ? recording.activity.sport : 'other',
  };
  let decision: RecordingDecisionLog['decision'];
  let target: string;
  let considered: MatchDecision['considered'] | undefined;
  if (typeof upload.activity_id === 'string') {
    decision = 'explicit';
    target = upload.activity_id;
  } else {
    const match = matchRecording(facts, await candidateActivities(userId, facts, deps));
    ({ considered } = match);
    decision = match.kind;
    target = match.kind === 'new' ? activityIdForUpload(uploadId) : match.activityId;
  }
  const log = (d: RecordingDecisionLog['decision'], activityId: string) => deps.onDecision?.({ userId, uploadId, decision: d, activityId, ...(considered ? { considered } : {}) });

  const won: string[] = [];
  for (const key of recordingKeys({ fileId: recording.fileId, sha256: recording.sha256 })) {
    let holder = await deps.recordings.claim(userId, key, { uploadId, activityId: target });
    if (holder.uploadId !== uploadId && (await isAbandoned(userId, holder, deps))) {
      const mine = { uploadId, activityId: target };
      if (await deps.recordings.reassign(userId, key, holder.uploadId, mine)) holder = mine;
      else holder = await deps.recordings.claim(userId, key, mine);
    }
    if (holder.uploadId === uploadId) {
      // A retry follows the decision its first attempt recorded.
      if (holder.activityId !== target) {
        decision = 'claimed';
        target = holder.activityId;
      }
      won.push(key);
      continue;
    }
    for (const k of won) await deps.recordings.reassign(userId, k, uploadId, { uploadId, activityId: holder.activityId });
    log('duplicate', holder.activityId);
    return { duplicateOf: holder.activityId };
  }
  log(decision, target);
  return decision === 'duplicate_source' ? { duplicateOf: target } : { activityId: target };
}

/** The user's live activities started in the recording's candidate window (one index Query + one consistent BatchGet). */
async function candidateActivities(userId: string, facts: { startedAt: number; durationS: number | null }, deps: IngestDeps): Promise<ActivityCandidate[]> {
  const { from, to } = candidateWindow(facts);
  const ids = await deps.recordings.activitiesStartedBetween(userId, from, to, MAX_CANDIDATES);
  if (ids.length === 0) return [];
  // The index is eventually consistent: the records themselves are read consistently, and only live ones count.
  const stored = await deps.store.getRecords(userId, ids.map((id) => ({ table: 'activities' as const, id })));
  return stored
    .filter((r) => r.deleted_at === null && typeof r.data.started_at === 'number')
    .map((r) => ({
      id: r.id,
      started_at: r.data.started_at as number,
      duration_s: typeof r.data.duration_s === 'number' ? r.data.duration_s : null,
      sport: typeof r.data.sport === 'string' ? r.data.sport : null,
      gps_source: typeof r.data.gps_source === 'string' ? r.data.gps_source : null,
    }));
}

/**
 * A claim no longer stands for an activity: the runner deleted it, or it was never written and
 * the upload that claimed it failed for good (its record says `failed`; one still `processing`
 * is a concurrent import, and this upload is its duplicate).
 */
async function isAbandoned(userId: string, holder: { uploadId: string; activityId: string }, deps: IngestDeps): Promise<boolean> {
  const stored = await deps.store.getRecords(userId, [
    { table: 'activities', id: holder.activityId },
    { table: 'uploads', id: holder.uploadId },
  ]);
  const activity = stored.find((r) => r.table === 'activities');
  if (activity) return activity.deleted_at !== null;
  const upload = stored.find((r) => r.table === 'uploads');
  return upload === undefined || upload.deleted_at !== null || upload.data.status === 'failed';
}

/** `25 MB`, `1.5 MB`, or `4,096-byte` for limits under a megabyte (FIT_MAX_BYTES may be as low as 1 KiB). */
function sizeLimitText(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes >= MiB ? `${Number((bytes / MiB).toFixed(1))} MB` : `${bytes.toLocaleString('en-US')}-byte`;
}
