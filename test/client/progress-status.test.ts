/**
 * Sync progress (`onProgress`) from the adapter against a scripted server, and the status
 * helpers (`getSyncStatus`, `hasPendingChanges`) over a real WatermelonDB database.
 */
import { Q, type Model } from '@nozbe/watermelondb';
import { describe, expect, it } from 'vitest';
import { createSyncAdapter, getSyncStatus, hasPendingChanges, synchronizeWithServer, type SyncProgress, type UploadJob } from '../../client/index.js';
import { OUTBOX_STORAGE_KEY } from '../../client/conflicts.js';
import { utf8ByteLength } from '../../client/utf8.js';
import { inMemoryDatabase } from '../support/watermelon.js';
import { BASE_URL, fakeFetch, page } from './support/fake-fetch.js';

const FIRST_SYNC = { lastPulledAt: null, schemaVersion: 1, migration: null };
const invalidCursor = { status: 400, body: { error: { code: 'invalid_cursor', message: 'cursor expired', details: [] } } };

describe('onProgress', () => {
  it('reports every pull page (pages, records, UTF-8 bytes), then applying', async () => {
    const pages = [
      page({ activities: { updated: [{ id: 'a1', title: 'Läufchen' }, { id: 'a2' }] } }, 9000, 'c1'),
      page({ plans: { updated: [{ id: 'p1' }] }, activities: { deleted: ['a0'] } }, 9000),
    ];
    const { fetch } = fakeFetch((_, i) => pages[i] as ReturnType<typeof page>);
    const seen: SyncProgress[] = [];
    const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 't', fetch, onProgress: (p) => seen.push(p) });
    await adapter.pullChanges(FIRST_SYNC);
    const bytes = pages.map((p) => utf8ByteLength(JSON.stringify(p.body)));
    const base = { firstSync: true, pushedRecords: 0, recordsToPush: 0 };
    expect(seen).toEqual([
      { ...base, phase: 'pulling', pages: 0, records: 0, bytes: 0 },
      { ...base, phase: 'pulling', pages: 1, records: 2, bytes: bytes[0] },
      { ...base, phase: 'pulling', pages: 2, records: 4, bytes: (bytes[0] as number) + (bytes[1] as number) },
      { ...base, phase: 'applying', pages: 2, records: 4, bytes: (bytes[0] as number) + (bytes[1] as number) },
    ]);
  });

  it("carries the server's estimate of a first sync's size (estimated_records on its first page) into every later report; ignores a malformed one", async () => {
    const first = page({ activities: { updated: [{ id: 'a1' }] } }, 9000, 'c1');
    const pages = [{ ...first, body: { ...first.body, estimated_records: 3 } }, page({ activities: { updated: [{ id: 'a2' }, { id: 'a3' }] } }, 9000)];
    const { fetch } = fakeFetch((_, i) => pages[i] as ReturnType<typeof page>);
    const seen: SyncProgress[] = [];
    await createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 't', fetch, onProgress: (p) => seen.push(p) }).pullChanges(FIRST_SYNC);
    expect(seen.map((p) => [p.phase, p.records, p.estimatedRecords])).toEqual([
      ['pulling', 0, undefined],
      ['pulling', 1, 3],
      ['pulling', 3, 3],
      ['applying', 3, 3],
    ]);
    for (const bad of [-1, 'many', Number.NaN, null]) {
      const odd = page({ activities: { updated: [{ id: 'a1' }] } }, 9000);
      const { fetch: oddFetch } = fakeFetch(() => ({ ...odd, body: { ...odd.body, estimated_records: bad } }) as ReturnType<typeof page>);
      const reports: SyncProgress[] = [];
      await createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 't', fetch: oddFetch, onProgress: (p) => reports.push(p) }).pullChanges(FIRST_SYNC);
      expect(reports.every((p) => p.estimatedRecords === undefined), String(bad)).toBe(true);
    }
  });

  it('starts again from 0 when the pull restarts after an expired cursor, and a later pull is not a first sync', async () => {
    const answers = [page({ activities: { updated: [{ id: 'a1' }] } }, 9000, 'c1'), invalidCursor, page({ activities: { updated: [{ id: 'a1' }] } }, 9100)];
    const { fetch } = fakeFetch((_, i) => answers[i] as ReturnType<typeof page>);
    const seen: SyncProgress[] = [];
    const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 't', fetch, onProgress: (p) => seen.push(p) });
    await adapter.pullChanges({ lastPulledAt: 5000, schemaVersion: 1, migration: null });
    expect(seen.map((p) => [p.phase, p.pages, p.records, p.firstSync])).toEqual([
      ['pulling', 0, 0, false],
      ['pulling', 1, 1, false],
      ['pulling', 1, 1, false],
      ['applying', 1, 1, false],
    ]);
  });

  it('reports a push split in requests: the records to push, then each accepted request', async () => {
    const { fetch, requests } = fakeFetch(() => ({ body: { timestamp: 10, versions: {} } }));
    const seen: SyncProgress[] = [];
    const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 't', fetch, maxPushBytes: 400, onProgress: (p) => seen.push(p) });
    const created = Array.from({ length: 6 }, (_, i) => ({ id: `a${i}`, notes: 'x'.repeat(60) }));
    await adapter.pushChanges({ changes: { activities: { created, updated: [], deleted: ['gone'] } }, lastPulledAt: 5 });
    expect(requests.length).toBeGreaterThan(1);
    const pushing = seen.filter((p) => p.phase === 'pushing');
    expect(pushing[0]).toMatchObject({ recordsToPush: 7, pushedRecords: 0 });
    expect(pushing.map((p) => p.pushedRecords)).toEqual([0, ...requests.map((r) => countRecords(r.json))].map((_, i, all) => all.slice(0, i + 1).reduce((a, b) => a + b, 0)));
    expect(pushing.at(-1)?.pushedRecords).toBe(7);
  });
});

function countRecords(body: { changes: Record<string, { created: unknown[]; updated: unknown[]; deleted: unknown[] }> }): number {
  return Object.values(body.changes).reduce((n, s) => n + s.created.length + s.updated.length + s.deleted.length, 0);
}

const job = (status: UploadJob['status']): UploadJob => ({
  id: `j-${status}`,
  uri: 'file:///x.fit',
  kind: 'fit',
  contentType: 'application/vnd.ant.fit',
  activityId: null,
  status,
  attempts: 1,
  uploadId: `u-${status}`,
  error: null,
  nextAttemptAt: null,
  sizeBytes: null,
  createdAt: 1,
  updatedAt: 1,
});

describe('getSyncStatus', () => {
  it('counts created, updated and deleted records per table, conflict reports and upload jobs', async () => {
    const database = inMemoryDatabase('status');
    expect(await getSyncStatus({ database })).toEqual({
      state: 'synced',
      unsyncedRecords: 0,
      unsyncedByTable: {},
      rejectedRecords: 0,
      pendingConflictReports: 0,
      pendingUploads: 0,
      failedUploads: 0,
      lastPulledAt: null,
      lastSync: null,
    });
    expect(await hasPendingChanges({ database })).toBe(false);

    // Two synced plans (as a pull leaves them), then one edited and one deleted; a new activity.
    await database.write(async () => {
      for (const id of ['p1', 'p2']) {
        await database.get<Model>('plans').create((r) => {
          r._raw.id = id;
          r._raw._status = 'synced';
          r._setRaw('name', id);
          r._setRaw('status', 'active');
        });
      }
      await database.get<Model>('activities').create((r) => r._setRaw('sport', 'running'));
    });
    await database.write(async () => {
      const [p1, p2] = await database.get<Model>('plans').query(Q.sortBy('id')).fetch();
      await p1?.update((r) => r._setRaw('name', 'renamed'));
      await p2?.markAsDeleted();
    });
    await database.localStorage.set(OUTBOX_STORAGE_KEY, [{ id: 'c1' }, { id: 'c2' }]);
    const queue = { jobs: async () => [job('pending'), job('uploading'), job('uploaded')] };
    expect(await getSyncStatus({ database, uploadQueue: queue })).toMatchObject({
      state: 'pending',
      unsyncedRecords: 3,
      unsyncedByTable: { activities: 1, plans: 2 },
      pendingConflictReports: 2,
      pendingUploads: 2,
      failedUploads: 0,
    });

    // An upload that failed for good makes the state `failed`.
    expect((await getSyncStatus({ database, uploadQueue: { jobs: async () => [job('failed')] } })).state).toBe('failed');
  });

  it('remembers how the last sync ended: a failure until the next success', async () => {
    const database = inMemoryDatabase('status-last');
    const offline = async () => {
      throw new TypeError('Network request failed');
    };
    await expect(synchronizeWithServer({ database, baseUrl: BASE_URL, getToken: () => 't', fetch: offline })).rejects.toThrow('Network request failed');
    const failed = await getSyncStatus({ database });
    expect(failed.state).toBe('failed');
    expect(failed.lastSync).toEqual({ at: expect.any(Number), error: { name: 'SyncNetworkError', message: expect.stringContaining('Network request failed') } });
    expect(failed.lastPulledAt).toBeNull();

    const { fetch } = fakeFetch(() => page({}, 7777));
    await synchronizeWithServer({ database, baseUrl: BASE_URL, getToken: () => 't', fetch });
    const ok = await getSyncStatus({ database });
    expect(ok).toMatchObject({ state: 'synced', lastPulledAt: 7777, lastSync: { error: null } });
  });
});
