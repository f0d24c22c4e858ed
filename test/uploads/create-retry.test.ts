/**
 * A retried `POST /api/v1/uploads` (same client-chosen `upload_id`) after the file reached S3 but
 * before its processing started: the S3 event is still on the way, the record still `pending`.
 * The answer must say the file arrived, so the client does not send it again. Here s3rver emits
 * its events to nobody, which holds the upload at exactly that point.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { S3UploadObjects } from '../../lambdas/adapters/s3/upload-objects.js';
import { createUpload, type UploadServiceDeps } from '../../lambdas/core/upload-service.js';
import { uploadLimits } from '../../lambdas/core/uploads.js';
import { TEST_PUSH_CONFIG, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { postUpload, useS3rver } from '../support/s3.js';

const FIT = 'application/vnd.ant.fit';

describe('createUpload retried after the file arrived, before processing', () => {
  const dynamo = useSyncTable();
  const s3 = useS3rver('create-retry');
  const deps = (): UploadServiceDeps => ({
    store: dynamo().store,
    objects: new S3UploadObjects(s3().client, s3().bucket),
    now: Date.now,
    config: TEST_PUSH_CONFIG,
    limits: uploadLimits(),
  });

  it('answers status pending (stored, not processed yet) once the object exists, and nothing before', async () => {
    const user = uniqueUser('retry');
    const bytes = new Uint8Array(321).fill(7);
    const body = { kind: 'fit', content_type: FIT, size_bytes: bytes.length, upload_id: `retry-${user}`, sha256: createHash('sha256').update(bytes).digest('hex') };

    const first = await createUpload(user, body, deps());
    expect(first.created).toBe(true);
    const beforeFile = await createUpload(user, body, deps());
    expect(beforeFile).toMatchObject({ created: false });
    expect(beforeFile.body.status).toBeUndefined();

    expect((await postUpload(first.body.url, first.body.fields, bytes)).status).toBe(204);
    const afterFile = await createUpload(user, body, deps());
    expect(afterFile).toMatchObject({ created: false, body: { upload_id: body.upload_id, status: 'pending' } });
    const [record] = await dynamo().store.getRecords(user, [{ table: 'uploads', id: body.upload_id }]);
    expect(record?.data.status).toBe('pending');

    // The stored object's declared checksum still guards the id.
    const other = { ...body, sha256: 'f'.repeat(64) };
    await expect(createUpload(user, other, deps())).rejects.toMatchObject({ name: 'ValidationError', details: [expect.objectContaining({ field: 'sha256' })] });
  });
});
