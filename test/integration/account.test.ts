/**
 * Account export and erasure (core/account.ts) on DynamoDB Local and s3rver: the export is what a
 * fresh device pulls plus the conflict log and the objects; erasure, in bounded rounds, leaves
 * nothing of the user in the table or the bucket (checked by scanning both) and nothing of
 * another user changed; erasing again is a no-op.
 */
import { PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../lambdas/adapters/dynamo/account-store.js';
import { userPk } from '../../lambdas/adapters/dynamo/keys.js';
import { S3AccountObjects } from '../../lambdas/adapters/s3/account-objects.js';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { eraseAccount, exportAccount } from '../../lambdas/core/account.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { SCHEMA_VERSION } from '../../lambdas/core/schema.js';
import { exportObjectKey, uploadObjectKey } from '../../lambdas/core/uploads.js';
import { pullDeps, pushDeps, TEST_PULL_CONFIG, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';
import { useS3rver } from '../support/s3.js';

const dynamo = useSyncTable();
const s3 = useS3rver('account');

/** A user with live records, a tombstone, a conflict-log entry, a recording claim and two objects. */
async function seed(label: string) {
  const { store, db, tableName } = dynamo();
  const user = uniqueUser(label);
  const deps = pushDeps(store);
  await pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw(`${user}-a1`), activityRaw(`${user}-a2`)] }, plans: { created: [planRaw(`${user}-p1`)] }, settings: { created: [settingRaw('units', 'km')] } }, null)), deps);
  const t = (await pullChanges(user, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null }, pullDeps(store))).timestamp;
  await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: [`${user}-a2`], updated: [{ ...activityRaw(`${user}-a1`), title: 'first', _changed: 'title' }] } }, t)), deps);
  // A second device, with the older base, edits the same column: a conflict, logged.
  const second = await pushChanges(user, parsePushBody(pushBody({ activities: { updated: [{ ...activityRaw(`${user}-a1`), title: 'second', _changed: 'title' }] } }, t)), deps);
  expect(second.outcomes.some((o) => o.conflict)).toBe(true);
  await db.send(new PutCommand({ TableName: tableName, Item: { pk: userPk(user), sk: `REC#H#${'a'.repeat(64)}`, upload_id: 'u1', activity_id: `${user}-a1`, at: 1 } }));
  const keys = [uploadObjectKey({ userId: user, kind: 'fit', uploadId: 'u1' }), uploadObjectKey({ userId: user, kind: 'image', uploadId: 'u2' })];
  for (const Key of keys) await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key, Body: `bytes of ${Key}` }));
  // An earlier export's file: not listed as one of the user's objects, but erased with them.
  const exportFile = exportObjectKey(user, 'e1');
  await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: exportFile, Body: '{}' }));
  return { user, keys, exportFile };
}

async function scanTable() {
  const { db, tableName } = dynamo();
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await db.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...((res.Items ?? []) as Record<string, unknown>[]));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

async function listBucket(prefix = '') {
  const out = await s3().client.send(new ListObjectsV2Command({ Bucket: s3().bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

const deps = () => ({
  store: dynamo().store,
  signer: hmacSigner('test-secret-'.padEnd(32, 'x')),
  objects: new S3AccountObjects(s3().client, s3().bucket),
  items: new DynamoAccountStore(dynamo().db, dynamo().tableName),
  now: Date.now,
  pull: { ...TEST_PULL_CONFIG, pageBytes: 2_000 },
});

describe('account export and erasure', () => {
  it('the export equals what a fresh device pulls, plus the conflict log and the objects', async () => {
    const { user, keys } = await seed('export');
    const exported = await exportAccount(user, deps());

    const fresh: Record<string, unknown[]> = {};
    let cursor: string | undefined;
    do {
      const page = await pullChanges(user, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null, cursor }, pullDeps(dynamo().store, { pageBytes: 2_000 }));
      for (const [table, set] of Object.entries(page.changes)) (fresh[table] ??= []).push(...set.updated);
      cursor = page.cursor;
    } while (cursor);
    expect(exported.records).toEqual(fresh);
    expect(exported.records.activities.map((r) => r.id)).toEqual([`${user}-a1`]);
    expect(exported.records.activities[0]?.title).toBe('second');
    expect(exported.conflicts).toEqual((await dynamo().store.listConflicts(user, { since: 0, limit: 100 })).entries);
    expect(exported.conflicts.length).toBeGreaterThan(0);
    expect(exported.conflicts.every((c) => c.table === 'activities' && [`${user}-a1`, `${user}-a2`].includes(c.record_id))).toBe(true);
    expect(exported.objects.map((o) => o.key).sort()).toEqual([...keys].sort());
    expect(exported.schema_version).toBe(SCHEMA_VERSION);
  });

  it('erasure, in bounded rounds, leaves nothing of the user in table or bucket; another user is untouched; again: a no-op', async () => {
    const victim = await seed('erase');
    const other = await seed('keep');
    const before = await scanTable();
    const otherItems = before.filter((i) => i.pk === userPk(other.user) || i.owner === other.user);
    const otherObjects = await listBucket(`users/${other.user}/`);
    expect(before.some((i) => i.pk === userPk(victim.user))).toBe(true);
    expect(before.filter((i) => i.owner === victim.user)).toHaveLength(3); // id claims of a1, a2, p1
    expect(before.some((i) => i.pk === userPk(victim.user) && i.deleted_at !== undefined)).toBe(true);

    let rounds = 0;
    let result;
    do {
      result = await eraseAccount(victim.user, deps(), { maxItems: 4, maxObjects: 1 });
      expect(result.deletedItems).toBeLessThanOrEqual(4);
      expect(result.deletedObjects).toBeLessThanOrEqual(1);
      rounds += 1;
    } while (!result.complete && rounds < 50);
    expect(result.complete).toBe(true);
    expect(rounds).toBeGreaterThan(2);

    const after = await scanTable();
    expect(after.filter((i) => String(i.pk).includes(victim.user) || i.owner === victim.user)).toEqual([]);
    expect(await listBucket(`users/${victim.user}/`)).toEqual([]);
    expect(await listBucket(`exports/${victim.user}/`)).toEqual([]);
    expect((await listBucket()).filter((k) => k.includes(victim.user))).toEqual([]);
    expect(await listBucket(`exports/${other.user}/`)).toEqual([other.exportFile]);
    expect(after.filter((i) => i.pk === userPk(other.user) || i.owner === other.user)).toEqual(otherItems);
    expect(await listBucket(`users/${other.user}/`)).toEqual(otherObjects);
    expect(otherObjects).toHaveLength(2);

    expect(await eraseAccount(victim.user, deps(), { maxItems: 4, maxObjects: 1 })).toEqual({ deletedItems: 0, deletedObjects: 0, complete: true });
    // The export of an erased account is empty.
    const empty = await exportAccount(victim.user, deps());
    expect(Object.values(empty.records).every((r) => r.length === 0) && empty.conflicts.length === 0 && empty.objects.length === 0).toBe(true);
  });
});
