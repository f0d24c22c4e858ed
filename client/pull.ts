/**
 * Pull: the server answers one pull in pages, each under its byte budget (a Lambda response
 * cannot exceed 6 MB), linked by an opaque `cursor`. Follow the cursor until it is absent and
 * hand WatermelonDB one merged change set with the timestamp all pages share.
 */
import { SyncHttpError, SyncProtocolError } from './errors.js';
import type { QueryParams, Transport } from './http.js';
import { createChangeSetMerger } from './merge.js';
import type { ChangeSet, PullArgs, TableChangeSet } from './types.js';

export interface PullResult {
  changes: ChangeSet;
  timestamp: number;
  /**
   * `replacement`: the server sent the whole live data set (the device was away longer than the
   * server keeps deletes); the adapter turns it into WatermelonDB's replacement strategy, which
   * keeps the device's unpushed changes.
   */
  experimentalStrategy?: 'replacement';
}

interface Page extends PullResult {
  cursor?: string;
  estimatedRecords?: number;
}

/**
 * Runs one complete (possibly paged) pull. A cursor the server no longer accepts (expired,
 * or signed with a rotated key) answers 400 `invalid_cursor`: the pull restarts once from its
 * first page, since a cursor only saves work and the restarted pull is complete by itself.
 */
/** After each page: the pages, records and bytes received so far in this pull (a restart starts again from 0). */
export type PageListener = (received: { pages: number; records: number; bytes: number; estimatedRecords?: number }) => void;

export async function pullAllPages(transport: Transport, args: PullArgs, onPage?: PageListener, deviceId?: string): Promise<PullResult> {
  const base: [string, string][] = [
    ['last_pulled_at', args.lastPulledAt ? String(args.lastPulledAt) : 'null'],
    ['schema_version', String(args.schemaVersion)],
    ['migration', args.migration ? JSON.stringify(args.migration) : 'null'],
    // The server leaves out what this device pushed itself unchanged (P12).
    ...(deviceId ? ([['device_id', deviceId]] as [string, string][]) : []),
  ];
  for (let restarted = false; ; restarted = true) {
    const merger = createChangeSetMerger();
    let timestamp: number | undefined;
    let strategy: 'replacement' | undefined;
    let cursor: string | undefined;
    const received: { pages: number; records: number; bytes: number; estimatedRecords?: number } = { pages: 0, records: 0, bytes: 0 };
    try {
      do {
        const query: QueryParams = cursor === undefined ? base : [...base, ['cursor', cursor]];
        let bytes = 0;
        const page = parsePage(await transport.request('GET', query, undefined, undefined, (n) => (bytes = n)));
        if (timestamp !== undefined && page.timestamp !== timestamp) {
          throw new SyncProtocolError(`pull pages disagree on the timestamp (${timestamp}, then ${page.timestamp})`);
        }
        if (page.cursor !== undefined && page.cursor === cursor) {
          throw new SyncProtocolError('pull returned the cursor it was given: it would never end');
        }
        if (received.pages > 0 && page.experimentalStrategy !== strategy) {
          throw new SyncProtocolError('pull pages disagree on the strategy');
        }
        timestamp = page.timestamp;
        strategy = page.experimentalStrategy;
        merger.add(page.changes);
        cursor = page.cursor;
        received.pages += 1;
        received.bytes += bytes;
        if (page.estimatedRecords !== undefined) received.estimatedRecords = page.estimatedRecords;
        for (const set of Object.values(page.changes)) received.records += set.created.length + set.updated.length + set.deleted.length;
        onPage?.({ ...received });
      } while (cursor !== undefined);
      return { changes: merger.result(), timestamp: timestamp as number, ...(strategy ? { experimentalStrategy: strategy } : {}) };
    } catch (e) {
      const cursorRejected = e instanceof SyncHttpError && e.code === 'invalid_cursor' && cursor !== undefined;
      if (cursorRejected && !restarted) continue;
      throw e;
    }
  }
}

/** Checks the shape WatermelonDB relies on, so a broken answer fails here with a clear message. */
function parsePage(body: unknown): Page {
  if (!isObject(body) || !isObject(body.changes)) throw new SyncProtocolError('pull answer has no `changes` object');
  const { timestamp, cursor, experimentalStrategy, estimated_records: estimate } = body;
  if (experimentalStrategy !== undefined && experimentalStrategy !== null && experimentalStrategy !== 'replacement') {
    throw new SyncProtocolError(`pull answer has an unknown strategy: ${String(experimentalStrategy)}`);
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) {
    throw new SyncProtocolError(`pull answer has an invalid timestamp: ${String(timestamp)}`);
  }
  if (cursor !== undefined && cursor !== null && (typeof cursor !== 'string' || cursor === '')) {
    throw new SyncProtocolError('pull answer has an invalid cursor');
  }
  for (const [table, set] of Object.entries(body.changes)) {
    const ok = isObject(set) && ['created', 'updated', 'deleted'].every((k) => set[k] === undefined || Array.isArray(set[k]));
    if (!ok) throw new SyncProtocolError(`pull answer has an invalid change set for '${table}'`);
  }
  const changes: ChangeSet = {};
  for (const [table, set] of Object.entries(body.changes as Record<string, Record<string, unknown[] | undefined>>)) {
    changes[table] = {
      created: (set.created ?? []) as TableChangeSet['created'],
      updated: (set.updated ?? []) as TableChangeSet['updated'],
      deleted: (set.deleted ?? []) as string[],
    };
  }
  return {
    changes,
    timestamp,
    cursor: typeof cursor === 'string' ? cursor : undefined,
    ...(experimentalStrategy === 'replacement' ? { experimentalStrategy } : {}),
    // An estimate only: anything but a non-negative number is ignored, never an error.
    ...(typeof estimate === 'number' && Number.isFinite(estimate) && estimate >= 0 ? { estimatedRecords: Math.round(estimate) } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
