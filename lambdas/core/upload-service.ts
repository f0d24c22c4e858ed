/**
 * The upload API's logic over the store and object storage ports: presign an upload and create
 * its `uploads` record (idempotently for a client-chosen `upload_id`), and presign downloads for
 * the owner only. Another user's activity or upload is a 404, never a hint that it exists.
 */
import { ForbiddenError, NotFoundError } from './errors.js';
import type { PushConfig } from './push.js';
import { RECORD_ID_PATTERN, type RecordData } from './schema.js';
import { applyServerWrite } from './server-write.js';
import type { SyncStore } from './store.js';
import {
  activityIdForUpload,
  newUploadId,
  parseUploadObjectKey,
  parseUploadRequest,
  planUploadRequest,
  uploadObjectKey,
  type PresignedUpload,
  type UploadKind,
  type UploadLimits,
  type UploadObjects,
  type UploadRequest,
} from './uploads.js';

export interface UploadServiceDeps {
  readonly store: SyncStore;
  readonly objects: UploadObjects;
  readonly now: () => number;
  readonly config: PushConfig;
  /** Built once per cold start (`uploadLimits(config)`): the parser's schema is cached per limits object. */
  readonly limits: UploadLimits;
}

export interface CreateUploadBody extends PresignedUpload {
  readonly upload_id: string;
  /**
   * Present when the file already arrived (the upload record's status; `pending` = stored, its
   * processing not started yet): nothing to upload (`url`/`fields` still valid for a re-send).
   */
  readonly status?: string;
}

export async function createUpload(userId: string, body: unknown, deps: UploadServiceDeps): Promise<{ created: boolean; body: CreateUploadBody }> {
  const request = parseUploadRequest(body, deps.limits);
  if (request.activityId !== null) {
    const [activity] = await deps.store.getRecords(userId, [{ table: 'activities', id: request.activityId }]);
    if (!activity || activity.deleted_at !== null) {
      throw new NotFoundError('no such activity', [{ path: 'activity_id', field: 'activity_id', message: `no activity '${request.activityId}' in your account` }]);
    }
  }
  const uploadId = request.uploadId ?? newUploadId();
  const [existing] = await deps.store.getRecords(userId, [{ table: 'uploads', id: uploadId }]);
  if (!existing && request.uploadId !== null) {
    const foreign = await deps.store.findForeignIds(userId, [{ table: 'uploads', id: uploadId }]);
    if (foreign.length > 0) throw new ForbiddenError('upload_id of another user', [{ path: 'upload_id', field: 'upload_id', message: 'this id belongs to another user; generate a new id' }]);
  }
  const live = existing && existing.deleted_at === null ? existing : undefined;
  // A retry looks for the object even while the record is `pending` (the file may have arrived
  // with its event still on the way), and once it is there its declared checksum must match too.
  const arrived = live ? await deps.objects.head(uploadObjectKey({ userId, kind: request.kind, uploadId })) : null;
  const storedSha256 = arrived ? (arrived.declaredSha256 ?? arrived.checksumSha256 ?? null) : undefined;
  const plan = planUploadRequest(request, live ? asRequested(live.data, uploadId, request) : undefined, storedSha256, arrived !== null);
  if (plan.action === 'create') {
    const written = await applyServerWrite(userId, { source: 'upload-service', table: 'uploads', id: uploadId, values: plan.record, createOnly: true }, deps);
    if (written.action !== 'create') {
      // The same client-chosen id was created concurrently (a retry racing the original): judge this
      // request against that upload, as if it had come second — a repeat re-presigns, a different one is a 400.
      const [raced] = await deps.store.getRecords(userId, [{ table: 'uploads', id: uploadId }]);
      if (!raced) throw new Error(`upload ${uploadId} vanished while being created`);
      const replanned = planUploadRequest(request, asRequested(raced.data, uploadId, request));
      return respond(replanned.action === 'already_uploaded' ? replanned.status : undefined, false);
    }
  }
  return respond(plan.action === 'already_uploaded' ? plan.status : undefined, plan.action === 'create');

  async function respond(status: string | undefined, created: boolean): Promise<{ created: boolean; body: CreateUploadBody }> {
    // The declared size is pinned exactly: S3 refuses any other length (the kind's limit bounds it).
    const presigned = await deps.objects.presignUpload({
      key: uploadObjectKey({ userId, kind: request.kind, uploadId }),
      contentType: request.contentType,
      minBytes: request.sizeBytes,
      maxBytes: request.sizeBytes,
      sha256: request.sha256,
    });
    return { created, body: { upload_id: uploadId, ...presigned, ...(status !== undefined ? { status } : {}) } };
  }
}

export async function downloadUrl(userId: string, uploadId: string, deps: Pick<UploadServiceDeps, 'store' | 'objects'>): Promise<{ upload_id: string; url: string; expires_at: number }> {
  const missing = () => new NotFoundError('no such upload', [{ path: 'upload_id', field: 'upload_id', message: `no upload '${uploadId}' in your account` }]);
  if (!RECORD_ID_PATTERN.test(uploadId)) throw missing();
  const [upload] = await deps.store.getRecords(userId, [{ table: 'uploads', id: uploadId }]);
  if (!upload || upload.deleted_at !== null) throw missing();
  const key = uploadObjectKey({ userId, kind: upload.data.kind as UploadKind, uploadId });
  if (!parseUploadObjectKey(key)) throw missing();
  const { url, expires_at } = await deps.objects.presignDownload({ key });
  return { upload_id: uploadId, url, expires_at };
}

/**
 * The stored upload as the request that created it named it: once processed, a FIT upload
 * without `activity_id` records the activity it created (`fit-<upload_id>`), and a retry of
 * that same request (still naming no activity) is the same upload, not a different one.
 */
function asRequested(data: RecordData, uploadId: string, request: UploadRequest): RecordData {
  return request.activityId === null && data.activity_id === activityIdForUpload(uploadId) ? { ...data, activity_id: null } : data;
}
