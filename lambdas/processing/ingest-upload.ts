/**
 * What happens when an object lands in the uploads bucket (S3 event, at least once, maybe late):
 * the `uploads` record moves `pending → processing → processed | failed`, and a FIT file becomes
 * Garmin-sourced activity data through the same server-write rules as every other write.
 *
 * Idempotent: a duplicate event finds the upload `processed` (or re-applies the same values, a
 * no-op), and the activity id is the upload's own `activity_id` or one derived from the upload
 * id, so one file never makes two activities. Failures a runner can act on end `failed` with a
 * readable reason; transient ones are marked and re-thrown so Lambda retries (then the DLQ).
 */
import { isSyncError, ThrottledError } from '../core/errors.js';
import type { PushConfig } from '../core/push.js';
import { applyServerWrite, type ServerWriteResult } from '../core/server-write.js';
import type { RecordData } from '../core/schema.js';
import type { SyncStore } from '../core/store.js';
import { activityIdForUpload, parseUploadObjectKey, type UploadKind, type UploadObjects } from '../core/uploads.js';

export { activityIdForUpload };

/** The FIT decoder port: bytes → the recorded values of an activity, or a reason. */
export type DecodeFit = (bytes: Uint8Array) => { ok: true; activity: RecordData } | { ok: false; reason: string };

export interface IngestDeps {
  readonly store: SyncStore;
  readonly objects: UploadObjects;
  readonly now: () => number;
  readonly config: PushConfig;
  readonly maxBytes: Readonly<Record<UploadKind, number>>;
  readonly decodeFit: DecodeFit;
  readonly sha256Hex: (bytes: Uint8Array) => string;
}

export type IngestOutcome =
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'duplicate'; readonly uploadId: string }
  | { readonly outcome: 'processed'; readonly uploadId: string; readonly activityId?: string; readonly activity?: ServerWriteResult['action'] }
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
    const declared = head.declaredSha256 ?? head.checksumSha256;
    if (declared && deps.sha256Hex(bytes) !== declared) {
      return await fail("The file's SHA-256 does not match the one declared when the upload started; it was changed or damaged. Upload it again.");
    }
    const decoded = deps.decodeFit(bytes);
    if (!decoded.ok) return await fail(decoded.reason);

    const activityId = typeof upload.data.activity_id === 'string' ? upload.data.activity_id : activityIdForUpload(uploadId);
    const written = await applyServerWrite(userId, { source: 'garmin', table: 'activities', id: activityId, values: { ...decoded.activity, upload_id: uploadId } }, deps);
    if (written.action === 'ignored') return await fail('The activity was deleted before the file was processed; nothing was imported.');
    await setStatus({ status: 'processed', error: null, activity_id: activityId });
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

/** `25 MB`, `1.5 MB`, or `4,096-byte` for limits under a megabyte (FIT_MAX_BYTES may be as low as 1 KiB). */
function sizeLimitText(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes >= MiB ? `${Number((bytes / MiB).toFixed(1))} MB` : `${bytes.toLocaleString('en-US')}-byte`;
}
