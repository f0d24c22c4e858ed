/**
 * The conflict log in the sync table. Each entry is two items in the user's partition:
 * - `CI#<id>` (the id's claim): holds `at`; written first, conditionally, so an id logged twice
 *   (a retried push, a device reporting again) keeps its first time;
 * - `C#<at>#<id>` (the entry): sorted by time, for `GET /api/v1/conflicts?since=`.
 * A crash between the two leaves the claim; the retry finds it and writes the entry at the
 * claimed time. Neither item has `updated_at`, so none reaches the delta-pull index. Both expire
 * through the table's TTL attribute.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConflictEntry, ConflictListQuery, ConflictReport } from '../../core/conflict-log.js';
import { conditionFailedItem, isConditionalCheckFailed, translateSdkError } from './errors.js';
import { TABLE_KEYS, userPk } from './keys.js';

const claimSk = (id: string) => `CI#${id}`;
/** `at` zero-padded so that string order is time order. */
const entrySk = (at: number, id: string) => `C#${String(at).padStart(16, '0')}#${id}`;
const ENTRY_PREFIX = 'C#';
/** Entries written at once by one `put`. */
const PUT_CONCURRENCY = 8;

const ENTRY_FIELDS = ['id', 'table', 'record_id', 'rule', 'losing_action', 'losing', 'winning', 'at', 'resolved_by'] as const;

export class DynamoConflictLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(userId: string, entries: readonly ConflictReport[], o: { nowMs: number; resolvedBy: ConflictEntry['resolved_by']; ttlMs: number }): Promise<void> {
    const expires = Math.ceil((o.nowMs + o.ttlMs) / 1000);
    // Per entry: claim, then entry (that order is the crash guarantee); entries in parallel, bounded.
    let next = 0;
    const worker = async () => {
      while (next < entries.length) await this.putOne(userId, entries[next++] as ConflictReport, o, expires);
    };
    await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, entries.length) }, worker));
  }

  private async putOne(userId: string, report: ConflictReport, o: { nowMs: number; resolvedBy: ConflictEntry['resolved_by'] }, expires: number): Promise<void> {
    const at = await this.claim(userId, report.id, Math.floor(o.nowMs), expires);
    const entry: ConflictEntry = { ...report, at, resolved_by: o.resolvedBy };
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: userPk(userId), sk: entrySk(at, report.id), ...entry, [TABLE_KEYS.ttlAttribute]: expires },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ).catch((e: unknown) => {
      if (!isConditionalCheckFailed(e)) throw e;
    });
  }

  async list(userId: string, q: ConflictListQuery): Promise<{ entries: ConflictEntry[]; next?: { at: number; id: string } }> {
    const entries: ConflictEntry[] = [];
    // `since` is exclusive: start after every entry at `since` (ids sort below '~').
    const lower = entrySk(q.since, '~');
    // A cursor at or before `since` adds nothing (and DynamoDB refuses a start key outside the range).
    const after = q.after ? entrySk(q.after.at, q.after.id) : undefined;
    let start: Record<string, unknown> | undefined = after !== undefined && after > lower ? { pk: userPk(userId), sk: after } : undefined;
    do {
      const res = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': userPk(userId), ':lo': lower, ':hi': `${ENTRY_PREFIX}~` },
          ExclusiveStartKey: start,
          Limit: q.limit + 1 - entries.length,
          ConsistentRead: true,
        }),
      );
      for (const item of (res.Items ?? []) as Record<string, unknown>[]) entries.push(toEntry(item));
      start = res.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (start && entries.length <= q.limit);
    if (entries.length <= q.limit) return { entries };
    const page = entries.slice(0, q.limit);
    const last = page[page.length - 1] as ConflictEntry;
    return { entries: page, next: { at: last.at, id: last.id } };
  }

  async get(userId: string, id: string): Promise<ConflictEntry | undefined> {
    const claim = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: userPk(userId), sk: claimSk(id) }, ConsistentRead: true }));
    const at = (claim.Item as { at?: number } | undefined)?.at;
    if (at === undefined) return undefined;
    const res = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: userPk(userId), sk: entrySk(at, id) }, ConsistentRead: true }));
    return res.Item ? toEntry(res.Item as Record<string, unknown>) : undefined;
  }

  /** Claims `id` at `at`, or returns the time it was claimed at before. */
  private async claim(userId: string, id: string, at: number, expires: number): Promise<number> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: userPk(userId), sk: claimSk(id), at, [TABLE_KEYS.ttlAttribute]: expires },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return at;
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      const old = conditionFailedItem(e)?.at;
      if (typeof old === 'number') return old;
      const res = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: userPk(userId), sk: claimSk(id) }, ConsistentRead: true }));
      return (res.Item as { at: number }).at;
    }
  }

  private async send(command: unknown): Promise<any> {
    try {
      return await this.db.send(command as never);
    } catch (e) {
      throw translateSdkError(e);
    }
  }
}

function toEntry(item: Record<string, unknown>): ConflictEntry {
  return Object.fromEntries(ENTRY_FIELDS.map((f) => [f, item[f]])) as unknown as ConflictEntry;
}
