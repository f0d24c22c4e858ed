/**
 * End to end: the tombstone horizon. A device that has not pulled for longer than the server keeps
 * deletes (TOMBSTONE_RETENTION) gets a replacement sync: every live record, paged like a first
 * sync, applied by WatermelonDB's replacement strategy. It converges — records deleted meanwhile
 * vanish from it — while its own unpushed creates, edits and deletes survive and are pushed in the
 * same sync. Whether or not the table's TTL has removed the expired tombstones makes no difference.
 * A device inside the horizon gets an ordinary delta. Real WatermelonDB devices; virtual time (the
 * server's `now` runs ahead), so nothing waits for the horizon to pass.
 */
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lambdas/adapters/dynamo/client.js';
import { useLocalStack } from '../support/stack.js';
import { expectConvergedWithServer } from './support/converged.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, type Device, type Values } from './support/devices.js';
import { recordingFetch } from './support/server.js';

const RETENTION_MS = 3_600_000;
/** How far the server's clock runs ahead of the wall clock (virtual time). */
let offsetMs = 0;

const activity = (id: string, i: number, o: Values = {}): Values & { id: string } => ({
  id,
  sport: 'running',
  started_at: 1_767_225_600_000 + i * 3_600_000,
  title: `run ${id}`,
  notes: 'n'.repeat(1500),
  ...o,
});

/** A fetch that records each pull answer's strategy and whether it carried deletes. */
function pullWatcher() {
  const rec = recordingFetch();
  const pages: { strategy: unknown; deleted: number; deletedIds: string[]; cursor: boolean }[] = [];
  const fetchImpl: typeof rec.fetch = async (url, init) => {
    const res = await rec.fetch(url, init);
    if (init.method !== 'GET') return res;
    const text = await res.text();
    const body = JSON.parse(text) as { experimentalStrategy?: unknown; cursor?: string; changes: Record<string, { deleted: string[] }> };
    const deletedIds = Object.values(body.changes).flatMap((set) => set.deleted);
    pages.push({ strategy: body.experimentalStrategy, deleted: deletedIds.length, deletedIds, cursor: body.cursor !== undefined });
    return { status: res.status, headers: res.headers, text: async () => text };
  };
  return { fetch: fetchImpl, pages };
}

describe('e2e: tombstone horizon and replacement sync', () => {
  const stack = useLocalStack({
    env: { TOMBSTONE_RETENTION_MS: String(RETENTION_MS), PULL_PAGE_BYTES: '20000' },
    runtime: (rt) => ({ ...rt, now: () => Date.now() + offsetMs }),
  });
  failOnSyncDiagnostics();

  for (const ttlRan of [false, true]) {
    it(`a device back after the horizon converges through a replacement sync, its unpushed work intact (TTL ${ttlRan ? 'ran' : 'has not run'})`, async () => {
      const s = stack();
      const user = `vera-${ttlRan ? 'ttl' : 'nottl'}`;
      const p = ttlRan ? 't' : 'n';
      const phone: Device = await openDevice(s, user, `${user}-phone`);
      const tablet: Device = await openDevice(s, user, `${user}-tablet`);
      await phone.createMany('activities', Array.from({ length: 30 }, (_, i) => activity(`${p}a${i}`, i)));
      await phone.create('settings', { value: '"km"' }, 'units');
      await phone.create('settings', { value: '"dark"' }, 'theme');
      await phone.sync();
      await tablet.sync();

      // The tablet goes offline and keeps working: a new run, an edit, an edit of a record the
      // phone will delete (activities: the delete wins, the edit goes to the conflict log), an
      // edit of a setting the phone will delete (settings: the later write wins), and a delete.
      await tablet.create('activities', activity(`${p}tab`, 99));
      await tablet.update('activities', `${p}a1`, { title: 'tablet edit' });
      await tablet.update('activities', `${p}a2`, { title: 'edit of a deleted run' });
      await tablet.update('settings', 'units', { value: '"mi"' });
      await tablet.remove('activities', `${p}a3`);

      // Meanwhile the phone deletes and edits.
      await phone.removeMany('activities', [`${p}a2`, `${p}a4`, `${p}a5`]);
      await phone.remove('settings', 'units');
      await phone.update('activities', `${p}a6`, { title: 'phone edit' });
      await phone.create('activities', activity(`${p}ph`, 98));
      await phone.sync();

      // Time passes beyond the horizon (virtual time: the server's clock jumps ahead).
      offsetMs += RETENTION_MS + 60_000;
      if (ttlRan) {
        // What the table's TTL would do by now: remove every tombstone whose expiry has passed.
        const db = createDocumentClient({ endpoint: s.dynamodbEndpoint });
        const nowS = Math.floor((Date.now() + offsetMs) / 1000);
        const { Items = [] } = await db.send(new ScanCommand({ TableName: s.tableName, FilterExpression: 'pk = :pk AND attribute_exists(deleted_at) AND expires_at <= :now', ExpressionAttributeValues: { ':pk': `U#${user}`, ':now': nowS } }));
        expect(Items.map((i) => i.rid).sort()).toEqual([`${p}a2`, `${p}a4`, `${p}a5`, 'units'].sort());
        for (const i of Items) await db.send(new DeleteCommand({ TableName: s.tableName, Key: { pk: i.pk, sk: i.sk } }));
        db.destroy();
      }

      const watch = pullWatcher();
      await tablet.sync({ fetch: watch.fetch });
      expect(watch.pages.length, 'the replacement sync is paged like a first sync').toBeGreaterThanOrEqual(2);
      expect(watch.pages.every((pg) => pg.strategy === 'replacement' && pg.deleted === 0)).toBe(true);

      const tabletSnap = await tablet.snapshot();
      const ids = tabletSnap.activities.map((r) => r.id);
      // Deleted meanwhile: gone from the tablet.
      for (const gone of [`${p}a2`, `${p}a4`, `${p}a5`]) expect(ids).not.toContain(gone);
      // Its own unpushed work is intact and reached the server; the phone's work reached the tablet.
      expect(ids).toEqual(expect.arrayContaining([`${p}tab`, `${p}ph`, `${p}a1`, `${p}a6`]));
      expect(ids).not.toContain(`${p}a3`);
      expect(tabletSnap.activities.find((r) => r.id === `${p}a1`)?.title).toBe('tablet edit');
      expect(tabletSnap.activities.find((r) => r.id === `${p}a6`)?.title).toBe('phone edit');
      expect(tabletSnap.settings.map((r) => [r.id, r.value])).toEqual([['theme', '"dark"'], ['units', '"mi"']]);

      // The phone was away as long (its last pull is from before the jump): a replacement too.
      const phoneBack = pullWatcher();
      await phone.sync({ fetch: phoneBack.fetch });
      expect(phoneBack.pages.every((pg) => pg.strategy === 'replacement')).toBe(true);
      // From now on both are inside the horizon: the phone gets an ordinary delta, with a delete.
      await tablet.remove('activities', `${p}a7`);
      await tablet.sync();
      const phoneWatch = pullWatcher();
      await phone.sync({ fetch: phoneWatch.fetch });
      // (A delete pushed less than INDEX_LAG_MS before the previous pull may come again: P5.)
      expect(phoneWatch.pages).toHaveLength(1);
      expect(phoneWatch.pages[0]).toMatchObject({ strategy: undefined, cursor: false });
      expect(phoneWatch.pages[0]?.deletedIds).toContain(`${p}a7`);
      expect(phoneWatch.pages[0]?.deletedIds.every((id) => [`${p}a7`, `${p}a3`].includes(id))).toBe(true);

      const fresh = await openDevice(s, user, `${user}-fresh`);
      await fresh.sync();
      const server = await expectConvergedWithServer(s, user, [phone, tablet, fresh]);
      expect(server.activities).toHaveLength(30 - 5 + 2);
      // The tablet's edit the delete beat is in the conflict log, not lost silently.
      const token = await s.token(user);
      const log = (await (await fetch(`${s.url}/api/v1/conflicts`, { headers: { authorization: `Bearer ${token}` } })).json()) as { conflicts: { record_id: string }[] };
      expect(log.conflicts.map((e) => e.record_id)).toContain(`${p}a2`);
    });
  }
});
