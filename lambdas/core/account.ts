/**
 * What an account owner may ask for: a copy of everything the service keeps about them (export)
 * and the removal of all of it (erasure). Pure orchestration over two small interfaces; the
 * DynamoDB and S3 adapters implement them (adapters/dynamo/account-store.ts,
 * adapters/s3/account-objects.ts).
 *
 * Export = what a fresh device pulls (every live record, at the current schema version, through
 * the pull itself, so the two cannot drift), the conflict log, and the user's stored objects;
 * produced as a stream of JSON text (`exportAccountChunks`), answered inline when small and as a
 * file behind a presigned link otherwise (`deliverExport`).
 * Erasure removes every item of the user's partition (records, tombstones, clock, conflict log,
 * recording claims), the id claims of the user's records (items in other partitions) and every
 * object under the user's prefixes (uploads, export files), in bounded batches: each call does at most `maxItems` item
 * deletes and `maxObjects` object deletes and says whether anything is left, so a caller repeats
 * it until `complete`; a repeated or interrupted erasure is safe (deleting what is gone is a no-op).
 */
import type { ConflictEntry } from './conflict-log.js';
import type { CursorSigner } from './cursor.js';
import { pullChanges, type PullConfig } from './pull.js';
import type { PulledRaw } from './records.js';
import { SCHEMA_VERSION, TABLES, type TableName } from './schema.js';
import type { SyncStore } from './store.js';
import { accountObjectPrefixes, exportObjectKey, userObjectsPrefix } from './uploads.js';

/** A key of an item to delete, as the store names it. */
export interface AccountItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** The items of one user, in the user's partition and outside it (id claims). */
export interface AccountStore {
  /**
   * One page of the user's items: those of the user's partition and, for each record of a table
   * whose ids are global, the id claim the user owns. `after`: the page's `next`.
   */
  listItems(userId: string, page: { readonly limit: number; readonly after?: string }): Promise<{ keys: AccountItemKey[]; next?: string }>;
  /** Deletes the items (absent ones are no-ops; an id claim only if `userId` owns it). */
  deleteItems(userId: string, keys: readonly AccountItemKey[]): Promise<void>;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export interface AccountObjects {
  /** One page of at most `limit` objects under `prefix`; `next` only when more remain after them. */
  list(prefix: string, page: { readonly limit: number; readonly after?: string }): Promise<{ objects: StoredObject[]; next?: string }>;
  /** Deletes the objects (absent ones are no-ops). */
  deleteMany(keys: readonly string[]): Promise<void>;
}

export interface AccountExport {
  readonly user_id: string;
  readonly exported_at: number;
  readonly schema_version: number;
  /** Every live record by table, as a first sync pulls it. */
  readonly records: Record<TableName, PulledRaw[]>;
  readonly conflicts: ConflictEntry[];
  readonly objects: StoredObject[];
}

export interface ExportDeps {
  readonly store: SyncStore;
  readonly signer: CursorSigner;
  readonly objects: AccountObjects;
  readonly now: () => number;
  readonly pull: PullConfig;
  /**
   * Where the records wait, grouped by table, between the pull (which returns them in stamp
   * order, all tables mixed) and the document (which lists them table by table). Default: in
   * memory; the export handler spills to disk (adapters/export-spool.ts) so memory stays bounded.
   */
  readonly spool?: () => ExportSpool;
}

/** Per-table holding area for serialized records: appended in pull order, read back in that order. */
export interface ExportSpool {
  append(table: TableName, text: string): Promise<void>;
  read(table: TableName): AsyncIterable<string>;
  /** Frees what it holds (always called, also after a failure). */
  dispose(): Promise<void>;
}

export function memorySpool(): ExportSpool {
  const parts = new Map<TableName, string[]>();
  return {
    async append(table, text) {
      let list = parts.get(table);
      if (!list) parts.set(table, (list = []));
      list.push(text);
    },
    async *read(table) {
      yield* parts.get(table) ?? [];
    },
    async dispose() {
      parts.clear();
    },
  };
}

/**
 * The export document as JSON text, in chunks, without holding it whole: the text is exactly
 * `JSON.stringify` of the `AccountExport` (same keys, same order), so a client cannot tell a
 * streamed export from one built in memory. Records are read through the paged first-sync pull
 * (what a fresh device pulls, so the two cannot drift) into the spool, then written table by
 * table; the conflict log and the objects are written page by page as they are read.
 */
export async function* exportAccountChunks(userId: string, deps: ExportDeps): AsyncGenerator<string, void, undefined> {
  const spool = deps.spool?.() ?? memorySpool();
  try {
    const counts = new Map<TableName, number>();
    let cursor: string | undefined;
    do {
      const page = await pullChanges(userId, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null, ...(cursor ? { cursor } : {}) }, { store: deps.store, signer: deps.signer, now: deps.now, config: deps.pull });
      for (const t of TABLES) {
        const table = t.name as TableName;
        const raws = page.changes[table].updated;
        if (raws.length === 0) continue;
        const before = counts.get(table) ?? 0;
        await spool.append(table, (before > 0 ? ',' : '') + raws.map((r) => JSON.stringify(r)).join(','));
        counts.set(table, before + raws.length);
      }
      cursor = page.cursor;
    } while (cursor);

    yield `{"user_id":${JSON.stringify(userId)},"exported_at":${JSON.stringify(deps.now())},"schema_version":${SCHEMA_VERSION},"records":{`;
    for (const [i, t] of TABLES.entries()) {
      yield `${i > 0 ? ',' : ''}${JSON.stringify(t.name)}:[`;
      yield* spool.read(t.name as TableName);
      yield ']';
    }
    yield '},"conflicts":[';
    let first = true;
    let after: { at: number; id: string } | undefined;
    do {
      const page = await deps.store.listConflicts(userId, { since: 0, limit: 100, ...(after ? { after } : {}) });
      if (page.entries.length > 0) {
        yield (first ? '' : ',') + page.entries.map((e) => JSON.stringify(e)).join(',');
        first = false;
      }
      after = page.next;
    } while (after);
    yield '],"objects":[';
    first = true;
    let next: string | undefined;
    do {
      const page = await deps.objects.list(userObjectsPrefix(userId), { limit: 1000, ...(next ? { after: next } : {}) });
      if (page.objects.length > 0) {
        yield (first ? '' : ',') + page.objects.map((o) => JSON.stringify({ key: o.key, size: o.size })).join(',');
        first = false;
      }
      next = page.next;
    } while (next);
    yield ']}';
  } finally {
    await spool.dispose();
  }
}

/** The export as one object (tests, small accounts): the streamed document, parsed. */
export async function exportAccount(userId: string, deps: ExportDeps): Promise<AccountExport> {
  const parts: string[] = [];
  for await (const chunk of exportAccountChunks(userId, deps)) parts.push(chunk);
  return JSON.parse(parts.join('')) as AccountExport;
}

/** Where export files go (S3 adapter: adapters/s3/export-files.ts). */
export interface ExportFiles {
  /** Writes the chunks as one object at `key`, streaming (memory bounded); the bytes written. */
  write(key: string, chunks: AsyncIterable<string>, meta: { readonly fileName: string }): Promise<{ readonly bytes: number }>;
  /** A short-lived GET link to the object. */
  presignDownload(key: string): Promise<{ readonly url: string; readonly expires_at: number }>;
}

export interface ExportLink {
  readonly download_url: string;
  /** When the link stops working, ms since the epoch. */
  readonly expires_at: number;
  /** Size of the file (the UTF-8 JSON document). */
  readonly bytes: number;
}

export type ExportDelivery =
  /** The document itself, to answer inline (its JSON text). */
  | { readonly kind: 'inline'; readonly body: string }
  /** A file was written; `requested`: the caller asked for a link, else the document was too large to answer inline. */
  | { readonly kind: 'link'; readonly requested: boolean; readonly link: ExportLink };

export interface DeliverExportDeps extends ExportDeps {
  readonly files: ExportFiles;
  /** A fresh export id (record-id shaped). */
  readonly newId: () => string;
}

/**
 * Answers an export request: inline when the caller did not ask for a link and the response
 * (the body as Lambda counts it: one JSON string, each `"` and `\` escaped once more) fits
 * `inlineMaxBytes`; else as a file in the user's export prefix and a presigned link to it. The
 * document is produced once: the first chunks are held (at most `inlineMaxBytes`) until it is
 * clear which, then the file gets them and the rest streamed.
 */
export async function deliverExport(userId: string, deps: DeliverExportDeps, options: { readonly link: boolean; readonly inlineMaxBytes: number }): Promise<ExportDelivery> {
  const chunks = exportAccountChunks(userId, deps);
  try {
    const held: string[] = [];
    if (!options.link) {
      let size = 2;
      for (;;) {
        const next = await chunks.next();
        if (next.done) return { kind: 'inline', body: held.join('') };
        held.push(next.value);
        size += escapedJsonStringBytes(next.value);
        if (size > options.inlineMaxBytes) break;
      }
    }
    const exportId = deps.newId();
    const key = exportObjectKey(userId, exportId);
    async function* all(): AsyncGenerator<string> {
      yield* held.splice(0);
      yield* chunks;
    }
    const exportedOn = new Date(deps.now()).toISOString().slice(0, 10);
    const { bytes } = await deps.files.write(key, all(), { fileName: `runningcoach-export-${exportedOn}-${exportId}.json` });
    const { url, expires_at } = await deps.files.presignDownload(key);
    return { kind: 'link', requested: options.link, link: { download_url: url, expires_at, bytes } };
  } finally {
    await chunks.return(undefined);
  }
}

/** UTF-8 bytes of `text` inside a JSON string literal: `"` and `\\` take one more byte each (JSON text holds no control characters). */
export function escapedJsonStringBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) bytes += 2;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

export interface EraseDeps {
  readonly items: AccountStore;
  readonly objects: AccountObjects;
}

export interface EraseResult {
  readonly deletedItems: number;
  readonly deletedObjects: number;
  /** False when the budget ran out first: call again. */
  readonly complete: boolean;
}

/**
 * One bounded round of erasure. Objects go first, then items: a crash in between leaves the
 * records (and their `uploads` rows) that name objects already gone, never objects nothing names.
 * Items are listed from the start each round (what was deleted is gone), so no position is kept.
 */
export async function eraseAccount(userId: string, deps: EraseDeps, budget: { readonly maxItems: number; readonly maxObjects: number }): Promise<EraseResult> {
  if (budget.maxItems < 2 || budget.maxObjects < 1) throw new RangeError('eraseAccount: maxItems must be at least 2 and maxObjects at least 1');
  let deletedObjects = 0;
  // Uploads and export files (an export written meanwhile is found by the next round, or expires).
  for (const prefix of accountObjectPrefixes(userId)) {
    let objectsLeft = true;
    while (deletedObjects < budget.maxObjects) {
      const page = await deps.objects.list(prefix, { limit: Math.min(1000, budget.maxObjects - deletedObjects) });
      if (page.objects.length === 0) {
        objectsLeft = false;
        break;
      }
      await deps.objects.deleteMany(page.objects.map((o) => o.key));
      deletedObjects += page.objects.length;
    }
    if (objectsLeft) objectsLeft = (await deps.objects.list(prefix, { limit: 1 })).objects.length > 0;
    if (objectsLeft) return { deletedItems: 0, deletedObjects, complete: false };
  }

  let deletedItems = 0;
  // Each listed item may bring its id claim: half the remaining budget per page keeps within it.
  while (budget.maxItems - deletedItems >= 2) {
    const page = await deps.items.listItems(userId, { limit: Math.min(100, Math.floor((budget.maxItems - deletedItems) / 2)) });
    if (page.keys.length === 0) return { deletedItems, deletedObjects, complete: true };
    await deps.items.deleteItems(userId, page.keys);
    deletedItems += page.keys.length;
  }
  const left = (await deps.items.listItems(userId, { limit: 1 })).keys.length > 0;
  return { deletedItems, deletedObjects, complete: !left };
}
