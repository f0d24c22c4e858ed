/**
 * Account exports delivered as a file (local stack on DynamoDB Local and s3rver, a small
 * EXPORT_INLINE_MAX_BYTES): `?delivery=link` always writes the file and answers its presigned
 * link; an inline export over the limit answers 303 with the link instead of failing; the file
 * holds exactly the inline document (every record, as a fresh device pulls them), in the caller's
 * own export prefix; erasure removes export files; a bad `delivery` is a 400 naming it.
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client, S3RVER_CREDENTIALS } from '../../lambdas/adapters/s3/client.js';
import { exportAccount } from '../../lambdas/core/account.js';
import { uploadObjectKey, userExportsPrefix } from '../../lambdas/core/uploads.js';
import { accountObjectsOf } from '../../lambdas/uploads-runtime.js';
import { serverSnapshot } from '../e2e/support/server.js';
import { uniqueUser } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';
import { apiAs, useLocalStack } from '../support/stack.js';

const INLINE_MAX = 6_000;
// A first sync sends the records of writes settled within INDEX_LAG_MS in key order after the
// index's (docs/sync-protocol.md, P4), so two exports on either side of that window list them in
// different orders. The local engines update their indexes with the write: no window here, so
// the file and the in-memory export are compared in one order whenever they run.
const stack = useLocalStack({ env: { PULL_PAGE_BYTES: '5000', EXPORT_INLINE_MAX_BYTES: String(INLINE_MAX), INDEX_LAG_MS: '0' } });

/** `activities` live records with 800-character notes (about 1 KB each), a plan, a setting, one deleted activity, one uploaded object. */
async function seeded(label: string, activities: number) {
  const s = stack();
  const user = uniqueUser(label);
  const token = await s.token(user);
  const api = apiAs(s, token);
  const ids = Array.from({ length: activities + 1 }, (_, i) => `${user}-${i}`);
  expect((await api.push(pushBody({ activities: { created: ids.map((id) => activityRaw(id, { notes: `"quoted" ${'x'.repeat(790)}` })) }, plans: { created: [planRaw(`${user}-p`)] }, settings: { created: [settingRaw('units', 'km')] } }, null))).status).toBe(200);
  const t = (await api.pull({ last_pulled_at: null })).body.timestamp as number;
  expect((await api.push(pushBody({ activities: { deleted: [ids[0] as string] } }, t))).status).toBe(200);
  const s3 = createS3Client({ endpoint: s.s3Endpoint, credentials: S3RVER_CREDENTIALS });
  const key = uploadObjectKey({ userId: user, kind: 'fit', uploadId: 'f1' });
  await s3.send(new PutObjectCommand({ Bucket: s.uploadsBucket, Key: key, Body: 'fit bytes' }));
  const exportRequest = async (query = '', init: RequestInit = {}) => {
    const res = await fetch(`${s.url}/api/v1/account/export${query}`, { redirect: 'manual', ...init, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const exportFiles = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: s.uploadsBucket, Prefix: userExportsPrefix(user) }))).Contents ?? []).map((o) => o.Key as string).sort();
  return { user, token, api, key, ids, exportRequest, exportFiles };
}

/** The export a core call builds in memory for the same account (the document the inline route sends). */
async function inMemoryExport(user: string) {
  const rt = stack().runtime;
  return exportAccount(user, { store: rt.store, signer: rt.signer, objects: accountObjectsOf(rt), now: rt.now, pull: rt.config.pull });
}

const withoutTime = (doc: Record<string, unknown>) => ({ ...doc, exported_at: 0 });
const strip = (raws: Record<string, unknown>[]) => raws.map(({ _versions, ...raw }) => raw).sort((x, y) => String(x.id).localeCompare(String(y.id)));

async function download(link: { download_url: string; bytes: number }) {
  const res = await fetch(link.download_url);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.length).toBe(link.bytes);
  return { headers: res.headers, doc: JSON.parse(bytes.toString('utf8')) as Record<string, any> };
}

describe('account export as a file', () => {
  it('a small account: inline is the document as before (200, JSON.stringify of it); delivery=link writes the same document to a file behind a presigned link', async () => {
    const a = await seeded('small', 1);
    const inline = await a.exportRequest();
    expect(inline.status).toBe(200);
    expect(inline.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = JSON.parse(inline.text) as Record<string, any>;
    // Byte for byte what JSON.stringify of the export object gives (the body before files existed).
    expect(inline.text).toBe(JSON.stringify(doc));
    expect(Object.keys(doc)).toEqual(['user_id', 'exported_at', 'schema_version', 'records', 'conflicts', 'objects']);
    expect(withoutTime(doc)).toEqual(withoutTime((await inMemoryExport(a.user)) as never));
    expect(await a.exportFiles()).toEqual([]);

    const linked = await a.exportRequest('?delivery=link');
    expect(linked.status).toBe(200);
    expect(linked.headers.get('cache-control')).toBe('no-store');
    expect(linked.headers.get('location')).toBeNull();
    const link = JSON.parse(linked.text) as { download_url: string; expires_at: number; bytes: number };
    expect(Object.keys(link).sort()).toEqual(['bytes', 'download_url', 'expires_at']);
    // The default lifetime, 15 minutes (the signature is dated to the second).
    expect(link.expires_at).toBeGreaterThan(Date.now() + 890_000);
    expect(link.expires_at).toBeLessThanOrEqual(Date.now() + 900_000);
    const file = await download(link);
    expect(file.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="runningcoach-export-\d{4}-\d\d-\d\d-[A-Za-z0-9]{16}\.json"$/);
    expect(withoutTime(file.doc)).toEqual(withoutTime(doc));
    // The file is in the caller's own export prefix, and nowhere else.
    const files = await a.exportFiles();
    expect(files).toHaveLength(1);
    expect(new URL(link.download_url).pathname).toBe(`/${stack().uploadsBucket}/${files[0]}`);
  });

  it('an account over the inline limit: 303 See Other to the file instead of a failure; the file holds every record as a fresh device pulls it; a client following redirects gets the document', async () => {
    const b = await seeded('large', 24);
    const res = await b.exportRequest();
    expect(res.status).toBe(303);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const link = JSON.parse(res.text) as { download_url: string; expires_at: number; bytes: number };
    expect(res.headers.get('location')).toBe(link.download_url);
    expect(link.bytes).toBeGreaterThan(INLINE_MAX);
    const { doc } = await download(link);

    const fresh = await serverSnapshot(stack(), b.user);
    for (const [table, raws] of Object.entries(fresh)) expect(strip(doc.records[table]), table).toEqual(strip(raws as Record<string, unknown>[]));
    expect(doc.records.activities).toHaveLength(24);
    expect(doc.objects).toEqual([{ key: b.key, size: 9 }]);
    expect(doc.conflicts).toEqual((await b.api.request('GET', '/api/v1/conflicts?since=0')).body.conflicts);
    // The very document the core builds in memory (the inline one, had it fitted), in the same order.
    expect(withoutTime(doc)).toEqual(withoutTime((await inMemoryExport(b.user)) as never));

    const followed = await fetch(`${stack().url}/api/v1/account/export`, { headers: { authorization: `Bearer ${b.token}` } });
    expect(followed.status).toBe(200);
    expect(withoutTime((await followed.json()) as Record<string, unknown>)).toEqual(withoutTime(doc));
    // Each export is a file of its own (two by now).
    expect(await b.exportFiles()).toHaveLength(2);
  });

  it("the link is for the caller's own file: another user's export is in their prefix, with their data only", async () => {
    const a = await seeded('owner', 8);
    const other = await seeded('other', 8);
    const mine = JSON.parse((await a.exportRequest('?delivery=link')).text) as { download_url: string; bytes: number };
    const theirs = JSON.parse((await other.exportRequest('?delivery=link')).text) as { download_url: string; bytes: number };
    const bucketPath = `/${stack().uploadsBucket}/`;
    expect(new URL(mine.download_url).pathname.startsWith(`${bucketPath}${userExportsPrefix(a.user)}`)).toBe(true);
    expect(new URL(theirs.download_url).pathname.startsWith(`${bucketPath}${userExportsPrefix(other.user)}`)).toBe(true);
    const theirDoc = (await download(theirs)).doc;
    expect(theirDoc.user_id).toBe(other.user);
    expect(JSON.stringify(theirDoc)).not.toContain(a.user);
    // The export's own listing of objects never includes export files.
    expect(theirDoc.objects).toEqual([{ key: other.key, size: 9 }]);
    // A second export of the same account gets a new, unguessable name.
    const again = JSON.parse((await a.exportRequest('?delivery=link')).text) as { download_url: string };
    expect(new URL(again.download_url).pathname).not.toBe(new URL(mine.download_url).pathname);
  });

  it('erasure removes the export files too; another user keeps theirs', async () => {
    const gone = await seeded('erase', 8);
    const stays = await seeded('keeps', 8);
    expect((await gone.exportRequest('?delivery=link')).status).toBe(200);
    expect((await gone.exportRequest()).status).toBe(303);
    expect((await stays.exportRequest('?delivery=link')).status).toBe(200);
    expect(await gone.exportFiles()).toHaveLength(2);

    const res = await fetch(`${stack().url}/api/v1/account`, { method: 'DELETE', headers: { authorization: `Bearer ${gone.token}` } });
    const body = (await res.json()) as { complete: boolean; deleted_objects: number };
    expect(body).toMatchObject({ complete: true, deleted_objects: 3 });
    expect(await gone.exportFiles()).toEqual([]);
    expect(await stays.exportFiles()).toHaveLength(1);
  });

  it('a bad delivery is a 400 naming the field, and writes nothing', async () => {
    const c = await seeded('bad', 1);
    for (const query of ['?delivery=file', '?delivery=', '?delivery=LINK']) {
      const res = await c.exportRequest(query);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.text)).toEqual({ error: { code: 'validation_error', message: 'invalid delivery', details: [{ path: 'delivery', field: 'delivery', message: "must be one of 'inline', 'link'" }] } });
    }
    expect((await c.exportRequest('?delivery=inline')).status).toBe(200);
    expect(await c.exportFiles()).toEqual([]);
  });
});
