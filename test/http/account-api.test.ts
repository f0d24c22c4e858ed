/**
 * The account routes through the real HTTP path (local stack on DynamoDB Local and s3rver):
 * `GET /api/v1/account/export` is what a fresh device pulls plus the conflict log and the
 * objects; `DELETE /api/v1/account` erases the caller (repeatable until `complete`), leaving
 * another user untouched. The bounded rounds themselves: test/integration/account.test.ts.
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client, S3RVER_CREDENTIALS } from '../../lambdas/adapters/s3/client.js';
import { SCHEMA_VERSION } from '../../lambdas/core/schema.js';
import { uploadObjectKey } from '../../lambdas/core/uploads.js';
import { serverSnapshot } from '../e2e/support/server.js';
import { uniqueUser } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';
import { apiAs, useLocalStack } from '../support/stack.js';

const stack = useLocalStack({ env: { PULL_PAGE_BYTES: '5000' } });

async function seeded(label: string) {
  const s = stack();
  const user = uniqueUser(label);
  const token = await s.token(user);
  const api = apiAs(s, token);
  const ids = Array.from({ length: 8 }, (_, i) => `${user}-${i}`);
  expect((await api.push(pushBody({ activities: { created: ids.map((id) => activityRaw(id, { notes: 'x'.repeat(800) })) }, plans: { created: [planRaw(`${user}-p`)] }, settings: { created: [settingRaw('units', 'km')] } }, null))).status).toBe(200);
  const t = (await api.pull({ last_pulled_at: null })).body.timestamp as number;
  expect((await api.push(pushBody({ activities: { deleted: [ids[0] as string] } }, t))).status).toBe(200);
  const s3 = createS3Client({ endpoint: s.s3Endpoint, credentials: S3RVER_CREDENTIALS });
  const key = uploadObjectKey({ userId: user, kind: 'fit', uploadId: 'f1' });
  await s3.send(new PutObjectCommand({ Bucket: s.uploadsBucket, Key: key, Body: 'fit bytes' }));
  const call = async (method: 'GET' | 'DELETE', path: string, auth = true) => {
    const res = await fetch(`${s.url}${path}`, { method, headers: auth ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as any };
  };
  const objects = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: s.uploadsBucket, Prefix: `users/${user}/` }))).Contents ?? []).map((o) => o.Key);
  return { user, api, key, call, objects };
}

describe('account routes', () => {
  it('export: every live record as a fresh device pulls it, the conflict log and the objects; 401 without a token', async () => {
    const a = await seeded('exp');
    const r = await a.call('GET', '/api/v1/account/export');
    expect(r.status).toBe(200);
    const fresh = await serverSnapshot(stack(), a.user);
    const strip = (raws: Record<string, unknown>[]) => raws.map(({ _versions, ...raw }) => raw).sort((x, y) => String(x.id).localeCompare(String(y.id)));
    for (const [table, raws] of Object.entries(fresh)) expect(strip(r.body.records[table]), table).toEqual(strip(raws as Record<string, unknown>[]));
    expect(r.body.records.activities).toHaveLength(7);
    expect(r.body).toMatchObject({ user_id: a.user, schema_version: SCHEMA_VERSION, objects: [{ key: a.key, size: 9 }] });
    expect(r.body.conflicts).toEqual((await a.api.request('GET', '/api/v1/conflicts?since=0')).body.conflicts);
    expect((await a.call('GET', '/api/v1/account/export', false)).status).toBe(401);
  });

  it('erasure: everything of the caller goes, repeatable; another user keeps everything', async () => {
    const victim = await seeded('gone');
    const other = await seeded('stays');
    const otherBefore = (await other.call('GET', '/api/v1/account/export')).body;

    const logged = (await victim.call('GET', '/api/v1/account/export')).body.conflicts.length as number;
    const first = await victim.call('DELETE', '/api/v1/account');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ complete: true, deleted_objects: 1 });
    // 8 activities (one a tombstone) and a plan with their id claims, a setting, the clock, each
    // conflict-log entry (entry and id claim), and the journal of each of the two pushes.
    expect(first.body.deleted_items).toBe(9 * 2 + 1 + 1 + 2 * logged + 2);
    expect(await victim.objects()).toEqual([]);
    const again = await victim.call('DELETE', '/api/v1/account');
    expect(again.body).toEqual({ complete: true, deleted_items: 0, deleted_objects: 0 });
    const after = await victim.call('GET', '/api/v1/account/export');
    expect(Object.values(after.body.records as Record<string, unknown[]>).flat()).toEqual([]);
    expect(after.body.objects).toEqual([]);

    const otherAfter = (await other.call('GET', '/api/v1/account/export')).body;
    expect({ ...otherAfter, exported_at: 0 }).toEqual({ ...otherBefore, exported_at: 0 });
    expect(await other.objects()).toEqual([other.key]);
    // The erased user's ids are free again: another user may now create one.
    const reuse = await other.api.push(pushBody({ activities: { created: [activityRaw(`${victim.user}-1`)] } }, null));
    expect(reuse.body.rejected).toBeUndefined();
  });
});
