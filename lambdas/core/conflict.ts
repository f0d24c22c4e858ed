/**
 * Conflict resolution per entity: one pure function, used by the server when a push meets a
 * record that changed after the version the device edited (the race window), and by the
 * client's `conflictResolver` when a pull brings such a record to a device with local changes.
 * In both places the device's change is the later one in the order the server receives writes.
 *
 * The rules (docs/conflicts.md holds the full decision table, generated from this module):
 * - Activity, recorded data (`recorded` column group): the group moves as a unit and goes to the
 *   higher-priority source, `garmin` > `manual` > null; equal priority → the later write.
 * - Activity, other columns: the device wins, per column.
 * - Plan tables: the server wins; a device delete of a plan record changed on the server leaves
 *   the server's version (re-stamped, so it reaches the device again).
 * - Settings: last write wins by the order the server receives writes, deletes included.
 * - Deletes otherwise win over edits.
 * Whatever a rule discards is returned as `lost`, for the conflict log.
 */
import type { ColumnDef, RecordData, TableDef } from './schema.js';
import { GPS_SOURCES } from './schema.js';

/** The server's copy of a record that changed after the device's base version. */
export interface ServerVersion {
  readonly data: RecordData;
  readonly deleted: boolean;
  /**
   * The columns the server changed after the device's base version (from per-column versions).
   * Undefined: unknown, every column counts as changed. Conflicts are judged per column: a column
   * only the device changed is not a conflict, it is simply applied.
   */
  readonly changedColumns?: readonly string[];
}

/** What the device did to its copy of the record. */
export type DeviceChange =
  | {
      readonly kind: 'upsert';
      /** The device's values of every column it sent (a WatermelonDB raw carries all). */
      readonly values: RecordData;
      /** Columns the device changed since its base version. */
      readonly changedColumns: readonly string[];
    }
  | { readonly kind: 'delete' };

export const CONFLICT_RULES = [
  'activity-recorded-source-priority',
  'activity-fields-client-wins',
  'plan-server-wins',
  'settings-last-write-wins',
  'delete-wins',
] as const;
export type ConflictRule = (typeof CONFLICT_RULES)[number];

/** A change a rule discarded: what the conflict log keeps (and `restore` can write back). */
export interface LostChange {
  readonly rule: ConflictRule;
  /** `update`: the losing side's column values; `delete`: a delete that did not happen. */
  readonly losingAction: 'update' | 'delete';
  readonly losing: RecordData;
  /** The values that stand instead (empty when the record ends deleted). */
  readonly winning: RecordData;
}

export interface Resolution {
  /** `write`: store `data` as the live record; `delete`: tombstone it; `keep`: leave the server's copy. */
  readonly outcome: 'write' | 'delete' | 'keep';
  /** The record's values after resolution (for `keep` and `delete`: the server's). */
  readonly data: RecordData;
  /** Device columns whose values stand in `data` (the client keeps them in `_changed`). */
  readonly keptColumns: readonly string[];
  readonly lost: readonly LostChange[];
}

export type ConflictPolicy = (table: TableDef, server: ServerVersion, change: DeviceChange) => Resolution;

const SOURCE_PRIORITY: Readonly<Record<string, number>> = Object.fromEntries(GPS_SOURCES.map((s, i) => [s, GPS_SOURCES.length - i]));

/** `garmin` (2) > `manual` (1) > null or anything else (0). */
export function sourcePriority(source: unknown): number {
  return typeof source === 'string' ? (SOURCE_PRIORITY[source] ?? 0) : 0;
}

export function recordedColumns(table: TableDef): readonly ColumnDef[] {
  return table.columns.filter((c) => c.group === 'recorded');
}

function pick(data: RecordData, columns: readonly string[]): RecordData {
  return Object.fromEntries(columns.map((c) => [c, data[c] ?? null]));
}

/** Resolves one conflict per the table's policy. Pure; never throws for a valid table. */
export const resolveConflict: ConflictPolicy = (table, server, change) => {
  if (change.kind === 'delete') return resolveDelete(table, server);
  if (server.deleted) return resolveEditOfDeleted(table, server, change);

  const differing = change.changedColumns.filter((c) => change.values[c] !== undefined && change.values[c] !== server.data[c]);
  if (differing.length === 0) return { outcome: 'write', data: server.data, keptColumns: [], lost: [] };
  const serverChanged = (c: string) => server.changedColumns === undefined || server.changedColumns.includes(c);
  const applied = (): Resolution => ({ outcome: 'write', data: { ...server.data, ...pick(change.values, differing) }, keptColumns: differing, lost: [] });

  switch (table.policy) {
    case 'activity':
      return resolveActivity(table, server, change.values, differing, serverChanged);
    case 'settings': {
      // Only a column both sides changed is a conflict; the device's write is received later and wins.
      const conflicting = differing.filter(serverChanged);
      return {
        ...applied(),
        lost: conflicting.length > 0 ? [{ rule: 'settings-last-write-wins', losingAction: 'update', losing: pick(server.data, conflicting), winning: pick(change.values, conflicting) }] : [],
      };
    }
    case 'plan':
      // Record-level: any server change after the device's base wins over the whole device edit.
      if (server.changedColumns !== undefined && server.changedColumns.length === 0) return applied();
      return {
        outcome: 'keep',
        data: server.data,
        keptColumns: [],
        lost: [{ rule: 'plan-server-wins', losingAction: 'update', losing: pick(change.values, differing), winning: pick(server.data, differing) }],
      };
    case 'server-owned':
      // Devices cannot write these (the push refuses them before planning); if one ever did, the server's copy stands.
      return { outcome: 'keep', data: server.data, keptColumns: [], lost: [] };
  }
};

function resolveActivity(table: TableDef, server: ServerVersion, values: RecordData, differing: readonly string[], serverChanged: (c: string) => boolean): Resolution {
  const recorded = recordedColumns(table).map((c) => c.name);
  const data: RecordData = { ...server.data };
  const kept: string[] = [];
  const lost: LostChange[] = [];

  const recordedDiffering = differing.filter((c) => recorded.includes(c));
  if (recordedDiffering.length > 0 && !recorded.some(serverChanged)) {
    // Only the device touched the recorded data: applied as it is, no conflict.
    Object.assign(data, pick(values, recordedDiffering));
    kept.push(...recordedDiffering);
  } else if (recordedDiffering.length > 0) {
    // The device's recorded group is its values for every recorded column (unsent ones: the server's).
    const deviceGroup = Object.fromEntries(recorded.map((c) => [c, values[c] !== undefined ? values[c] : (server.data[c] ?? null)]));
    const serverGroup = pick(server.data, recorded);
    // Equal priority: the device's write reaches the server later, so it wins.
    if (sourcePriority(deviceGroup.gps_source) >= sourcePriority(serverGroup.gps_source)) {
      Object.assign(data, deviceGroup);
      kept.push(...recorded);
      lost.push({ rule: 'activity-recorded-source-priority', losingAction: 'update', losing: serverGroup, winning: deviceGroup });
    } else {
      lost.push({ rule: 'activity-recorded-source-priority', losingAction: 'update', losing: deviceGroup, winning: serverGroup });
    }
  }

  const fields = differing.filter((c) => !recorded.includes(c));
  if (fields.length > 0) {
    Object.assign(data, pick(values, fields));
    kept.push(...fields);
    const conflicting = fields.filter(serverChanged);
    if (conflicting.length > 0) {
      lost.push({ rule: 'activity-fields-client-wins', losingAction: 'update', losing: pick(server.data, conflicting), winning: pick(values, conflicting) });
    }
  }
  // Nothing of the device's change stands: the server's copy stays as it is (no needless re-stamp).
  if (kept.length === 0) return { outcome: 'keep', data: server.data, keptColumns: [], lost };
  return { outcome: 'write', data, keptColumns: kept, lost };
}

/** The device edited a record that was deleted after its base version. */
function resolveEditOfDeleted(table: TableDef, server: ServerVersion, change: Extract<DeviceChange, { kind: 'upsert' }>): Resolution {
  const edited = pick(change.values, change.changedColumns.filter((c) => change.values[c] !== undefined));
  if (table.policy === 'settings') {
    // The edit reaches the server after the delete: it wins and the setting lives again.
    const data = { ...server.data, ...Object.fromEntries(Object.entries(change.values).filter(([, v]) => v !== undefined)) };
    return {
      outcome: 'write',
      data,
      keptColumns: change.changedColumns,
      lost: [{ rule: 'settings-last-write-wins', losingAction: 'delete', losing: {}, winning: edited }],
    };
  }
  // Activities: the delete wins; plans: the server's state (deleted) wins. Neither resurrects.
  return { outcome: 'keep', data: server.data, keptColumns: [], lost: [{ rule: 'delete-wins', losingAction: 'update', losing: edited, winning: {} }] };
}

/** The device deleted a record that changed after its base version. */
function resolveDelete(table: TableDef, server: ServerVersion): Resolution {
  if (server.deleted) return { outcome: 'keep', data: server.data, keptColumns: [], lost: [] };
  // Changed after the device's base in no column (a re-stamp): nothing to lose, the delete stands.
  if (server.changedColumns !== undefined && server.changedColumns.length === 0) return { outcome: 'delete', data: server.data, keptColumns: [], lost: [] };
  if (table.policy === 'plan' || table.policy === 'server-owned') {
    // The server's edit survives; `write` re-stamps it so the device that deleted it pulls it back.
    return { outcome: 'write', data: server.data, keptColumns: [], lost: [{ rule: 'plan-server-wins', losingAction: 'delete', losing: {}, winning: server.data }] };
  }
  const rule: ConflictRule = table.policy === 'settings' ? 'settings-last-write-wins' : 'delete-wins';
  // The edit being deleted was made after the deleting device's base: keep it in the log.
  const losing = server.changedColumns !== undefined ? pick(server.data, server.changedColumns) : server.data;
  return { outcome: 'delete', data: server.data, keptColumns: [], lost: [{ rule, losingAction: 'update', losing, winning: {} }] };
}
