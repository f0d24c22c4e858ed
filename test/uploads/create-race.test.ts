/**
 * Two `POST /api/v1/uploads` with the same client-chosen `upload_id` racing (a retry overtaking
 * the original): the one that creates the record wins, the other is judged against it as if it
 * had come second. Controlled interleaving: the rival's record is written between this request's
 * read and its conditional create.
 */
import { describe, expect, it } from 'vitest';
import { S3UploadObjects } from '../../lambdas/adapters/s3/upload-objects.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import { createUpload, type UploadServiceDeps } from '../../lambdas/core/upload-service.js';
import { uploadLimits } from '../../lambdas/core/uploads.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { TEST_PUSH_CONFIG, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { DelegatingStore } from '../support/faulty-store.js';
import { useS3rver } from '../support/s3.js';

const FIT = 'application/vnd.ant.fit';

/** Runs `rival` once, just before the first record write of the request under test. */
class RivalBeforeFirstWrite extends DelegatingStore {
  private fired = false;
  constructor(
    inner: SyncStore,
    private readonly rival: () => Promise<unknown>,
  ) {
    super(inner);
  }
  override async putRecord(u: string, r: StoredRecord, expected: number | null) {
    if (!this.fired) {
      this.fired = true;
      await this.rival();
    }
    return super.putRecord(u, r, expected);
  }
}

describe('createUpload: the same client-chosen upload_id, created concurrently', () => {
  const dynamo = useSyncTable();
  const s3 = useS3rver('create-race');
  const deps = (store: SyncStore): UploadServiceDeps => ({
    store,
    objects: new S3UploadObjects(s3().client, s3().bucket),
    now: Date.now,
    config: TEST_PUSH_CONFIG,
    limits: uploadLimits(),
  });
  const body = (uploadId: string, sizeBytes: number) => ({ kind: 'fit', content_type: FIT, size_bytes: sizeBytes, upload_id: uploadId });

  it('a different upload under the id the rival just created → 400 naming the field; the rival’s record stands', async () => {
    const user = uniqueUser('race');
    const uploadId = `race-${user}`;
    const inner = dynamo().store;
    const store = new RivalBeforeFirstWrite(inner, () => createUpload(user, body(uploadId, 100), deps(inner)));
    const error = await createUpload(user, body(uploadId, 200), deps(store)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ValidationError', details: [expect.objectContaining({ field: 'size_bytes' })] });
    const [record] = await inner.getRecords(user, [{ table: 'uploads', id: uploadId }]);
    expect(record?.data).toMatchObject({ size_bytes: 100, status: 'pending' });
  });

  it('the same upload → both get a form for the one record; only the rival created it', async () => {
    const user = uniqueUser('race-same');
    const uploadId = `same-${user}`;
    const inner = dynamo().store;
    let rival: Awaited<ReturnType<typeof createUpload>> | undefined;
    const store = new RivalBeforeFirstWrite(inner, async () => (rival = await createUpload(user, body(uploadId, 100), deps(inner))));
    const mine = await createUpload(user, body(uploadId, 100), deps(store));
    expect(rival?.created).toBe(true);
    expect(mine.created).toBe(false);
    expect(mine.body.upload_id).toBe(uploadId);
    expect(mine.body.fields.key).toBe(rival?.body.fields.key);
    const [record] = await inner.getRecords(user, [{ table: 'uploads', id: uploadId }]);
    expect(record?.data).toMatchObject({ size_bytes: 100, status: 'pending' });
  });
});
