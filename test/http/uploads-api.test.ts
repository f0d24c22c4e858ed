/**
 * The upload API through the real HTTP path of the local stack (API Gateway event → handler →
 * DynamoDB on dynalite, presigned forms for s3rver), with real multipart uploads whose
 * object-created events run the FIT processor as S3 notifications would.
 *
 * What s3rver does NOT enforce (test/support/s3.ts): a POST upload is anonymous to it, so it
 * checks neither the policy's signature nor any of its conditions (key, Content-Type,
 * content-length-range, checksum, expiration). Where a test depends on one of those, it says
 * so in its name and asserts the signed policy document itself with `postPolicyViolations`
 * (a model of S3's POST-policy rules), which is what S3 enforces.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodePostPolicy, sha256HexToBase64 } from '../../lambdas/adapters/s3/presign.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import { DEFAULT_UPLOAD_URL_TTL_SECONDS, DEFAULT_DOWNLOAD_URL_TTL_SECONDS, MIB, uploadObjectKey } from '../../lambdas/core/uploads.js';
import { decodeFitActivity } from '../../lambdas/fit/index.js';
import { activityIdForUpload } from '../../lambdas/processing/ingest-upload.js';
import { fixture } from '../fit/support/fixtures.js';
import { serverState, uniqueUser } from '../support/dynamo.js';
import { DelegatingStore } from '../support/faulty-store.js';
import { activityRaw, pushBody } from '../support/records.js';
import { postPolicyViolations, postUpload } from '../support/s3.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { FIT_MAX_BYTES } from '../../lambdas/fit/limits.js';

/** Every `uploads` status the store wrote, per upload id, in order: the state machine as it ran. */
class StatusRecordingStore extends DelegatingStore {
  readonly statuses = new Map<string, string[]>();
  override async putRecord(u: string, r: StoredRecord, expected: number | null) {
    await super.putRecord(u, r, expected);
    if (r.table === 'uploads') this.statuses.set(r.id, [...(this.statuses.get(r.id) ?? []), String(r.data.status)]);
  }
}

let recorder: StatusRecordingStore | undefined;
const stack = useLocalStack({
  runtime: (rt) => {
    recorder = new StatusRecordingStore(rt.store);
    return { ...rt, store: recorder };
  },
});

/** s3rver's only key pair signs every policy the local stack hands out. */
const S3_SECRET = 'S3RVER';
const FIT_TYPE = 'application/vnd.ant.fit';
const RUN = 'python-fitparse/activity-small-fenix2-run.fit';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function userApi(label: string, user = uniqueUser(label)) {
  const api = apiAs(stack(), await stack().token(user));
  /** The user's live records as a first sync sees them (stamps left out). */
  const state = () => serverState(stack().runtime.store, user);
  const uploads = async () => ((await api.pull({ last_pulled_at: null })).body.changes.uploads.updated as Record<string, unknown>[]);
  const stored = async (table: 'uploads' | 'activities', id: string) => (await stack().runtime.store.getRecords(user, [{ table, id }]))[0];
  const create = (body: unknown) => api.request('POST', '/api/v1/uploads', body);
  return { user, api, state, uploads, stored, create };
}

const fitRequest = (bytes: Uint8Array, o: Record<string, unknown> = {}) => ({ kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, sha256: sha256(bytes), ...o });

describe('POST /api/v1/uploads: bad requests → 400 naming the field, nothing written', () => {
  const valid = { kind: 'fit', content_type: FIT_TYPE, size_bytes: 1000 };
  const without = (field: string) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== field));
  it.each([
    ['an unknown kind', 'kind', { ...valid, kind: 'gpx' }],
    ['no kind', 'kind', without('kind')],
    ['a content type no FIT has', 'content_type', { ...valid, content_type: 'text/plain' }],
    ['an image content type for a FIT file', 'content_type', { ...valid, content_type: 'image/jpeg' }],
    ['a FIT content type for an image', 'content_type', { kind: 'image', content_type: FIT_TYPE, size_bytes: 1000 }],
    ['an empty content type', 'content_type', { ...valid, content_type: '' }],
    ['size 0', 'size_bytes', { ...valid, size_bytes: 0 }],
    ['a negative size', 'size_bytes', { ...valid, size_bytes: -1 }],
    ['a non-integer size', 'size_bytes', { ...valid, size_bytes: 1000.5 }],
    ['a size given as a string', 'size_bytes', { ...valid, size_bytes: '1000' }],
    ['no size', 'size_bytes', without('size_bytes')],
    ['a FIT file one byte over the FIT limit', 'size_bytes', { ...valid, size_bytes: FIT_MAX_BYTES + 1 }],
    ['a FIT file of 20 MiB (more than the processor handles)', 'size_bytes', { ...valid, size_bytes: 20 * MIB }],
    ['an image one byte over 10 MiB', 'size_bytes', { kind: 'image', content_type: 'image/png', size_bytes: 10 * MIB + 1 }],
    ['a sha256 that is too short', 'sha256', { ...valid, sha256: 'abc123' }],
    ['a sha256 of 64 non-hex characters', 'sha256', { ...valid, sha256: 'g'.repeat(64) }],
    ['a sha256 in base64 instead of hex', 'sha256', { ...valid, sha256: sha256HexToBase64('ab'.repeat(32)) }],
    ['an unknown field', 'filename', { ...valid, filename: 'run.fit' }],
    ['a malformed activity_id', 'activity_id', { ...valid, activity_id: 'a/b' }],
    ['a malformed upload_id', 'upload_id', { ...valid, upload_id: 'has space' }],
  ])('%s → 400 naming %s', async (_name, field, body) => {
    const u = await userApi('bad');
    const r = await u.create(body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    expect(r.body.error.details).toContainEqual(expect.objectContaining({ field, path: field, message: expect.any(String) }));
    expect(await u.uploads()).toEqual([]);
    expect(await u.state()).toEqual({});
  });

  it('a body that is not a JSON object (array, invalid JSON) → 400, nothing written', async () => {
    const u = await userApi('notjson');
    const array = await u.create([]);
    expect(array.status).toBe(400);
    expect(array.body.error.details).toEqual([{ path: '', message: 'expected a JSON object' }]);
    const res = await fetch(`${stack().url}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack().token(u.user)}`, 'content-type': 'application/json' },
      body: '{"kind": "fit",',
    });
    expect(res.status).toBe(400);
    expect(await u.state()).toEqual({});
  });

  it('no token → 401, nothing written', async () => {
    const res = await fetch(`${stack().url}/api/v1/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(valid) });
    expect(res.status).toBe(401);
  });

  it('the limits themselves are accepted: a FIT of exactly FIT_MAX_BYTES and an image of exactly 10 MiB → 201', async () => {
    const u = await userApi('edge');
    expect((await u.create({ ...valid, size_bytes: FIT_MAX_BYTES })).status).toBe(201);
    expect((await u.create({ kind: 'image', content_type: 'image/png', size_bytes: 10 * MIB })).status).toBe(201);
    expect((await u.uploads()).map((x) => x.size_bytes).sort()).toEqual([10 * MIB, FIT_MAX_BYTES].sort());
  });
});

describe('POST /api/v1/uploads: activity_id must be one of the caller’s live activities', () => {
  it('another user’s activity, a missing one and a deleted one → the same 404; nothing written; the owner’s activity untouched', async () => {
    const bob = await userApi('bob');
    const bobActivity = `bob-act-${randomUUID().slice(0, 8)}`;
    expect((await bob.api.push(pushBody({ activities: { created: [activityRaw(bobActivity)] } }, null))).status).toBe(200);
    const bobBefore = await bob.stored('activities', bobActivity);

    const alice = await userApi('alice');
    const deleted = `alice-del-${randomUUID().slice(0, 8)}`;
    expect((await alice.api.push(pushBody({ activities: { created: [activityRaw(deleted)] } }, null))).status).toBe(200);
    const { timestamp } = (await alice.api.pull({ last_pulled_at: null })).body;
    expect((await alice.api.push(pushBody({ activities: { deleted: [deleted] } }, timestamp))).status).toBe(200);
    const aliceBefore = await alice.state();

    const missing = `nope-${randomUUID().slice(0, 8)}`;
    const answers = [];
    for (const activityId of [bobActivity, missing, deleted]) {
      const r = await alice.create({ ...valid(), activity_id: activityId });
      expect(r.status, activityId).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'not_found', details: [{ field: 'activity_id', path: 'activity_id' }] });
      // Nothing tells a foreign id from a missing one.
      answers.push(JSON.stringify(r.body).replaceAll(activityId, '<id>'));
    }
    expect(new Set(answers).size).toBe(1);
    expect(await alice.state()).toEqual(aliceBefore);
    expect(await alice.uploads()).toEqual([]);
    expect(await bob.stored('activities', bobActivity)).toEqual(bobBefore);
    expect(await bob.uploads()).toEqual([]);
  });

  it('the caller’s own live activity → 201, and the record carries it', async () => {
    const u = await userApi('own');
    const id = `own-${randomUUID().slice(0, 8)}`;
    await u.api.push(pushBody({ activities: { created: [activityRaw(id)] } }, null));
    const r = await u.create({ ...valid(), activity_id: id });
    expect(r.status).toBe(201);
    expect(await u.uploads()).toEqual([expect.objectContaining({ id: r.body.upload_id, activity_id: id, status: 'pending' })]);
  });

  function valid() {
    return { kind: 'fit', content_type: FIT_TYPE, size_bytes: 1000 };
  }
});

describe('POST /api/v1/uploads: the presigned POST policy', () => {
  it('201 {upload_id, method, url, fields, expires_at}; the policy pins the bucket, the exact key, the type, size = [size, size], the checksum, and expires within 15 minutes', async () => {
    const u = await userApi('policy');
    const bytes = fixture(RUN);
    const before = Date.now();
    const r = await u.create(fitRequest(bytes));
    const after = Date.now();
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(['expires_at', 'fields', 'method', 'upload_id', 'url']);
    const { upload_id: id, fields } = r.body as { upload_id: string; fields: Record<string, string> };
    expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(r.body.method).toBe('POST');
    expect(r.body.url).toBe(`${stack().s3Endpoint}/${stack().uploadsBucket}`);

    const key = `users/${u.user}/fit/${id}.fit`;
    expect(fields.key).toBe(key);
    const policy = decodePostPolicy(fields.Policy);
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { bucket: stack().uploadsBucket },
        { key },
        { 'Content-Type': FIT_TYPE },
        ['content-length-range', bytes.length, bytes.length],
        { 'x-amz-checksum-sha256': sha256HexToBase64(sha256(bytes)) },
        { 'x-amz-meta-sha256': sha256(bytes) },
      ]),
    );
    // Exact matches only: no `starts-with` that would let the form pick another key or type.
    expect(policy.conditions.filter((c) => Array.isArray(c) && c[0] !== 'content-length-range' && c[0] !== 'eq')).toEqual([]);
    expect(policy.conditions.filter((c) => Array.isArray(c) && c[0] === 'content-length-range')).toHaveLength(1);

    const expires = Date.parse(policy.expiration);
    expect(r.body.expires_at).toBe(expires);
    expect(expires).toBeGreaterThan(after);
    expect(expires).toBeLessThanOrEqual(after + DEFAULT_UPLOAD_URL_TTL_SECONDS * 1000);
    expect(expires).toBeGreaterThanOrEqual(before + DEFAULT_UPLOAD_URL_TTL_SECONDS * 1000 - 1000);

    // By S3's rules the form accepts exactly this file and nothing else.
    expect(postPolicyViolations(fields, bytes.length, { secretAccessKey: S3_SECRET })).toEqual([]);
    expect(postPolicyViolations(fields, bytes.length + 1, { secretAccessKey: S3_SECRET })).toEqual([`content-length-range [${bytes.length}, ${bytes.length}] excludes ${bytes.length + 1} bytes`]);
    expect(postPolicyViolations(fields, bytes.length - 1, { secretAccessKey: S3_SECRET })).toEqual([`content-length-range [${bytes.length}, ${bytes.length}] excludes ${bytes.length - 1} bytes`]);
    expect(postPolicyViolations({ ...fields, 'Content-Type': 'text/html' }, bytes.length, { secretAccessKey: S3_SECRET })).toEqual([`content-type must equal ${FIT_TYPE}`]);
    expect(postPolicyViolations({ ...fields, key: `users/${u.user}/fit/other.fit` }, bytes.length, { secretAccessKey: S3_SECRET })).toEqual([`key must equal ${key}`]);
    expect(postPolicyViolations(fields, bytes.length, { secretAccessKey: S3_SECRET, now: new Date(expires + 1) })).toEqual(['policy expired']);

    // The record syncs: pending, with the declared columns.
    const [record] = await u.uploads();
    expect(record).toEqual({
      id,
      kind: 'fit',
      content_type: FIT_TYPE,
      size_bytes: bytes.length,
      activity_id: null,
      status: 'pending',
      error: null,
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
    });
  });

  it('without sha256 the policy has no checksum condition; an image gets the `.image` key of its kind', async () => {
    const u = await userApi('nosha');
    const r = await u.create({ kind: 'image', content_type: 'IMAGE/PNG', size_bytes: 321 });
    expect(r.status).toBe(201);
    const { fields } = r.body as { fields: Record<string, string> };
    expect(fields.key).toBe(`users/${u.user}/image/${r.body.upload_id}.image`);
    expect(fields['x-amz-checksum-sha256']).toBeUndefined();
    expect(fields['x-amz-meta-sha256']).toBeUndefined();
    const conditions = decodePostPolicy(fields.Policy).conditions;
    expect(conditions).toContainEqual({ 'Content-Type': 'image/png' });
    expect(conditions).toContainEqual(['content-length-range', 321, 321]);
    expect(JSON.stringify(conditions)).not.toContain('checksum');
  });
});

describe('a real multipart POST to the presigned URL', () => {
  it('lands in s3rver; the S3 event runs the processor; the uploads record goes pending → processing → processed and syncs with its new activity', async () => {
    const u = await userApi('post');
    const bytes = fixture(RUN);
    const r = await u.create(fitRequest(bytes));
    expect(r.status).toBe(201);
    const id = r.body.upload_id as string;
    const first = await u.api.pull({ last_pulled_at: null });
    expect(first.body.changes.uploads.updated).toEqual([expect.objectContaining({ id, status: 'pending' })]);

    expect((await postUpload(r.body.url, r.body.fields, bytes)).status).toBe(204);
    const activityId = activityIdForUpload(id);
    expect(await stack().uploadsSettled()).toEqual([{ outcome: 'processed', uploadId: id, activityId, activity: 'create' }]);
    expect(recorder!.statuses.get(id)).toEqual(['pending', 'processing', 'processed']);

    const delta = await u.api.pull({ last_pulled_at: first.body.timestamp });
    expect(delta.status).toBe(200);
    expect(delta.body.changes.uploads.updated).toEqual([expect.objectContaining({ id, status: 'processed', error: null, activity_id: activityId })]);
    const decoded = decodeFitActivity(bytes);
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(delta.body.changes.activities.updated).toEqual([
      { id: activityId, ...decoded.activity, title: null, notes: null, perceived_effort: null, upload_id: id, created_at: expect.any(Number), updated_at: expect.any(Number) },
    ]);
  });

  it('a sub that is not a plain key segment (an e-mail) gets an encoded user segment, and its upload is processed', async () => {
    const u = await userApi('email', `runner.${randomUUID().slice(0, 8)}@example.com`);
    const bytes = fixture('python-fitparse/Activity.fit');
    const r = await u.create(fitRequest(bytes));
    expect(r.status).toBe(201);
    const key = uploadObjectKey({ userId: u.user, kind: 'fit', uploadId: r.body.upload_id });
    expect(key).toMatch(/^users\/\.[A-Za-z0-9_-]+\/fit\/[A-Za-z0-9]{16}\.fit$/);
    expect(r.body.fields.key).toBe(key);
    expect((await postUpload(r.body.url, r.body.fields, bytes)).status).toBe(204);
    expect(await stack().uploadsSettled()).toEqual([expect.objectContaining({ outcome: 'processed', uploadId: r.body.upload_id })]);
    expect(await u.uploads()).toEqual([expect.objectContaining({ status: 'processed' })]);
  });

  it('an image upload moves to processed once it exists, and makes no activity', async () => {
    const u = await userApi('image');
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 56 }, (_, i) => i)]);
    const r = await u.create({ kind: 'image', content_type: 'image/png', size_bytes: png.length, sha256: sha256(png) });
    expect((await postUpload(r.body.url, r.body.fields, png)).status).toBe(204);
    expect(await stack().uploadsSettled()).toEqual([{ outcome: 'processed', uploadId: r.body.upload_id }]);
    expect(await u.uploads()).toEqual([expect.objectContaining({ id: r.body.upload_id, kind: 'image', status: 'processed', error: null, activity_id: null })]);
    expect((await u.state()).activities).toBeUndefined();
  });

  it('s3rver does NOT enforce content-length-range: an oversized file lands there; the signed policy excludes its size (S3 refuses it), and the processor fails it on the size check', async () => {
    const u = await userApi('oversize');
    const bytes = fixture('python-fitparse/Activity.fit');
    const declared = bytes.length - 100;
    const r = await u.create({ kind: 'fit', content_type: FIT_TYPE, size_bytes: declared });
    expect(r.status).toBe(201);
    // What S3 enforces: the signed policy admits exactly the declared size.
    expect(postPolicyViolations(r.body.fields, bytes.length, { secretAccessKey: S3_SECRET })).toEqual([`content-length-range [${declared}, ${declared}] excludes ${bytes.length} bytes`]);
    // What s3rver does: stores it anyway (if this starts failing, s3rver enforces the range: assert the refusal instead).
    expect((await postUpload(r.body.url, r.body.fields, bytes)).status).toBe(204);
    const reason = `The file has ${bytes.length} bytes but ${declared} were declared; upload it again.`;
    expect(await stack().uploadsSettled()).toEqual([{ outcome: 'failed', uploadId: r.body.upload_id, reason }]);
    expect(await u.uploads()).toEqual([expect.objectContaining({ status: 'failed', error: reason })]);
    expect((await u.state()).activities).toBeUndefined();
  });
});

describe('a client-chosen upload_id (idempotent retries)', () => {
  it('the same request again → 200 (not 201), the same id and key, one record, no write; after the file arrived → 200 with its status', async () => {
    const u = await userApi('retry');
    const bytes = fixture('python-fitparse/Activity.fit');
    const uploadId = `client-${randomUUID().slice(0, 8)}`;
    const request = fitRequest(bytes, { upload_id: uploadId });
    const first = await u.create(request);
    expect(first.status).toBe(201);
    expect(first.body.upload_id).toBe(uploadId);
    const stored = await u.stored('uploads', uploadId);

    const again = await u.create(request);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ upload_id: uploadId, method: 'POST', url: first.body.url, fields: expect.objectContaining({ key: first.body.fields.key }), expires_at: expect.any(Number) });
    expect(again.body.status).toBeUndefined();
    expect(await u.stored('uploads', uploadId)).toEqual(stored);
    expect(await u.uploads()).toHaveLength(1);

    // The re-presigned form works like the first one.
    expect((await postUpload(again.body.url, again.body.fields, bytes)).status).toBe(204);
    expect(await stack().uploadsSettled()).toEqual([expect.objectContaining({ outcome: 'processed', uploadId })]);
    const processed = await u.stored('uploads', uploadId);

    const late = await u.create(request);
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ upload_id: uploadId, status: 'processed' });
    expect(await u.stored('uploads', uploadId)).toEqual(processed);
    expect(await u.uploads()).toEqual([expect.objectContaining({ id: uploadId, status: 'processed' })]);
  });

  /** Creates a client-chosen upload, POSTs its file, lets it process; returns the request and the stored record. */
  async function processedUpload(label: string) {
    const u = await userApi(label);
    const bytes = fixture('python-fitparse/Activity.fit');
    const uploadId = `client-${randomUUID().slice(0, 8)}`;
    const request = fitRequest(bytes, { upload_id: uploadId });
    const first = await u.create(request);
    expect(first.status).toBe(201);
    expect((await postUpload(first.body.url, first.body.fields, bytes)).status).toBe(204);
    expect(await stack().uploadsSettled()).toEqual([expect.objectContaining({ outcome: 'processed', uploadId })]);
    return { u, uploadId, request, before: await u.stored('uploads', uploadId) };
  }

  it.each([
    ['a different size', { size_bytes: 999 }, ['size_bytes']],
    ['a different content type', { content_type: 'application/octet-stream' }, ['content_type']],
    ['another kind', { kind: 'image', content_type: 'image/png' }, ['kind', 'content_type']],
  ])('reused with %s → 400 naming the changed fields; the upload is unchanged', async (_name, change, fields) => {
    const { u, uploadId, request, before } = await processedUpload('reuse');
    const r = await u.create({ ...request, ...change });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    expect(r.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([...fields].sort());
    expect(await u.stored('uploads', uploadId)).toEqual(before);
    expect(await u.uploads()).toHaveLength(1);
  });

  it('reused naming another activity, or none, than the one it named → 400 naming activity_id; the same one → 200', async () => {
    const u = await userApi('reuseact');
    const [a, b] = [`act-a-${randomUUID().slice(0, 8)}`, `act-b-${randomUUID().slice(0, 8)}`];
    expect((await u.api.push(pushBody({ activities: { created: [activityRaw(a), activityRaw(b)] } }, null))).status).toBe(200);
    const uploadId = `client-${randomUUID().slice(0, 8)}`;
    const request = { kind: 'fit', content_type: FIT_TYPE, size_bytes: 100, upload_id: uploadId, activity_id: a };
    expect((await u.create(request)).status).toBe(201);
    const before = await u.stored('uploads', uploadId);
    for (const activityId of [b, null]) {
      const r = await u.create({ ...request, activity_id: activityId });
      expect(r.status, String(activityId)).toBe(400);
      expect(r.body.error.details).toEqual([expect.objectContaining({ field: 'activity_id' })]);
    }
    expect((await u.create(request)).status).toBe(200);
    expect(await u.stored('uploads', uploadId)).toEqual(before);
  });

  // KNOWN GAP (asserted strictly, marked `fails`): the declared sha256 is no column; once the file
  // arrived it is only in the object's metadata, and the uploads-create function may not read
  // objects (lambdas/routes.ts grants it `uploads-put` only). So a retry naming another file of
  // the same size gets 200 "processed" and a fresh form. When this starts passing, drop `.fails`.
  it('reused with a different sha256 once the file is there → 400 naming sha256', async () => {
    const { u, uploadId, request, before } = await processedUpload('resha2');
    const r = await u.create({ ...request, sha256: 'ab'.repeat(32) });
    expect(await u.stored('uploads', uploadId)).toEqual(before);
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([expect.objectContaining({ field: 'sha256' })]);
  });

  it('before the file arrives only the columns can be compared: a retry with another sha256 re-presigns with the new checksum (the object will carry it)', async () => {
    const u = await userApi('resha');
    const uploadId = `client-${randomUUID().slice(0, 8)}`;
    const request = { kind: 'fit', content_type: FIT_TYPE, size_bytes: 100, sha256: 'ab'.repeat(32), upload_id: uploadId };
    expect((await u.create(request)).status).toBe(201);
    const r = await u.create({ ...request, sha256: 'cd'.repeat(32) });
    expect(r.status).toBe(200);
    expect(r.body.fields['x-amz-meta-sha256']).toBe('cd'.repeat(32));
    expect(await u.uploads()).toHaveLength(1);
  });

  it('another user’s upload_id → 403 forbidden naming upload_id; nothing written for either user', async () => {
    const alice = await userApi('alice');
    const uploadId = `client-${randomUUID().slice(0, 8)}`;
    const request = { kind: 'fit', content_type: FIT_TYPE, size_bytes: 100, upload_id: uploadId };
    expect((await alice.create(request)).status).toBe(201);
    const aliceBefore = await alice.stored('uploads', uploadId);

    const bob = await userApi('bob');
    for (const body of [request, { ...request, size_bytes: 200 }]) {
      const r = await bob.create(body);
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'forbidden', details: [{ field: 'upload_id', path: 'upload_id' }] });
    }
    expect(await bob.state()).toEqual({});
    expect(await alice.stored('uploads', uploadId)).toEqual(aliceBefore);
  });
});

describe('GET /api/v1/uploads/{upload_id}/url', () => {
  it('the owner gets a short-lived URL that returns the bytes; another user, an unknown id and a malformed id → the same 404', async () => {
    const alice = await userApi('alice');
    const bytes = fixture('python-fitparse/Activity.fit');
    const created = await alice.create(fitRequest(bytes));
    expect((await postUpload(created.body.url, created.body.fields, bytes)).status).toBe(204);
    await stack().uploadsSettled();
    const id = created.body.upload_id as string;

    const before = Date.now();
    const r = await alice.api.request('GET', `/api/v1/uploads/${id}/url`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['expires_at', 'upload_id', 'url']);
    expect(r.body.upload_id).toBe(id);
    expect(r.body.expires_at).toBeGreaterThan(Date.now());
    expect(r.body.expires_at).toBeLessThanOrEqual(Date.now() + DEFAULT_DOWNLOAD_URL_TTL_SECONDS * 1000);
    expect(r.body.expires_at).toBeGreaterThanOrEqual(before - 1000 + DEFAULT_DOWNLOAD_URL_TTL_SECONDS * 1000);
    const download = await fetch(r.body.url);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    const bob = await userApi('bob');
    const answers: string[] = [];
    for (const [who, path, shown] of [
      [bob, `/api/v1/uploads/${id}/url`, id],
      [alice, `/api/v1/uploads/unknown${randomUUID().slice(0, 8)}/url`, ''],
      [bob, '/api/v1/uploads/a%2Fb/url', 'a/b'],
      [alice, `/api/v1/uploads/${'x'.repeat(65)}/url`, 'x'.repeat(65)],
    ] as const) {
      const res = await who.api.request('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', details: [{ field: 'upload_id' }] });
      expect(JSON.stringify(res.body)).not.toContain('http');
      const id404 = /'([^']*)'/.exec(res.body.error.details[0].message)?.[1] ?? '';
      if (shown) expect(id404).toBe(shown);
      answers.push(JSON.stringify(res.body).replaceAll(id404, '<id>'));
    }
    expect(new Set(answers).size).toBe(1);
    expect(await bob.state()).toEqual({});
  });
});
