/**
 * After a push, the device adopts the server's stamps of what it pushed: `updated_at` (and
 * `created_at` of the records it created) become the versions of the push response. The server
 * leaves a device's own unchanged writes out of its pulls (contract `device_id`, P12), so this is
 * how the device's copies end up equal to every other device's. Records changed again locally
 * since (not synced) are left alone: their next push and pull settle them.
 */
import { Q, type Database, type Model } from '@nozbe/watermelondb';
import type { PushVersions } from './push.js';

/** Per table and id: the version the server stored, and whether the device pushed it as created. */
export type PushedStamps = Map<string, Map<string, { version: number; created: boolean }>>;

export function collectPushedStamps(into: PushedStamps, versions: PushVersions, created: ReadonlyMap<string, ReadonlySet<string>>): void {
  for (const [table, ids] of Object.entries(versions)) {
    const byId = into.get(table) ?? new Map<string, { version: number; created: boolean }>();
    for (const [id, version] of Object.entries(ids)) byId.set(id, { version, created: created.get(table)?.has(id) ?? false });
    into.set(table, byId);
  }
}

export async function adoptServerStamps(database: Database, stamps: PushedStamps): Promise<void> {
  const found: { record: Model; stamp: { version: number; created: boolean } }[] = [];
  for (const [table, byId] of stamps) {
    if (byId.size === 0) continue;
    const records = await database.get<Model>(table).query(Q.where('id', Q.oneOf([...byId.keys()]))).fetch();
    for (const record of records) {
      const stamp = byId.get(record.id);
      if (stamp) found.push({ record, stamp });
    }
  }
  if (found.length === 0) return;
  await database.write(async () => {
    // Prepared and batched in one synchronous step (WatermelonDB requires it), inside the writer,
    // so no local edit can land between the check and the update.
    const updates: Model[] = [];
    for (const { record, stamp } of found) {
      const raw = record._raw as unknown as Record<string, unknown>;
      if (raw._status !== 'synced') continue;
      const next = { ...raw, updated_at: stamp.version, ...(stamp.created ? { created_at: stamp.version } : {}) };
      if (next.updated_at === raw.updated_at && next.created_at === raw.created_at) continue;
      // As WatermelonDB marks records synced: the raw is replaced whole, so the record stays synced.
      updates.push(record.prepareUpdate(() => void ((record as unknown as { _raw: unknown })._raw = next)));
    }
    if (updates.length > 0) await database.batch(updates);
  });
}
