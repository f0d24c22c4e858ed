/**
 * DynamoDB implementation of `RecordingIndex` (lambdas/core/recordings.ts), in the sync table:
 * - recording claims: `pk = U#<sub>`, `sk = REC#<key>` (`key` = `F#…` file_id or `H#<sha256>`),
 *   with `upload_id`, `activity_id` and `at`. Written with `attribute_not_exists(pk)`, so of two
 *   uploads of one recording racing exactly one wins. No `updated_at` and no `started_at`: they
 *   are in neither index, so no pull ever sees them.
 * - the candidate query: the sparse GSI `by_started_at` (`pk`, `started_at`, keys only) holds the
 *   live activities of each user by start time; one bounded Query per FIT upload.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StoredRecord } from '../../core/records.js';
import type { RecordingClaim, RecordingIndex } from '../../core/recordings.js';
import { isConditionalCheckFailed, translateSdkError, conditionFailedItem } from './errors.js';
import { STARTED_AT_ATTRIBUTE, STARTED_AT_INDEX, userPk } from './keys.js';

const claimSk = (key: string) => `REC#${key}`;
const ACTIVITY_SK_PREFIX = 'R#activities#';

/**
 * The top-level `started_at` a record item carries for the `by_started_at` index: live activities
 * only, so deleted ones leave the index with their tombstone. (sync-store.ts spreads it into every
 * record item it writes.)
 */
export function activityStartAttribute(record: StoredRecord): { [STARTED_AT_ATTRIBUTE]?: number } {
  const startedAt = record.data.started_at;
  return record.table === 'activities' && record.deleted_at === null && typeof startedAt === 'number' ? { [STARTED_AT_ATTRIBUTE]: startedAt } : {};
}

interface ClaimItem {
  upload_id: string;
  activity_id: string;
}

export class DynamoRecordingIndex implements RecordingIndex {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(userId: string, key: string, claim: RecordingClaim): Promise<RecordingClaim> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: userPk(userId), sk: claimSk(key), upload_id: claim.uploadId, activity_id: claim.activityId, at: Math.floor(this.now()) },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return claim;
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      // DynamoDB (not dynalite) returns the item that won with the failure.
      const held = ((conditionFailedItem(e) as ClaimItem | undefined) ?? (await this.read(userId, key))) as ClaimItem | undefined;
      if (!held) throw e;
      return { uploadId: String(held.upload_id), activityId: String(held.activity_id) };
    }
  }

  async reassign(userId: string, key: string, from: string, to: RecordingClaim): Promise<boolean> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: userPk(userId), sk: claimSk(key) },
          UpdateExpression: 'SET upload_id = :to, activity_id = :activity, #at = :at',
          ConditionExpression: 'upload_id = :from',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':to': to.uploadId, ':activity': to.activityId, ':from': from, ':at': Math.floor(this.now()) },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionalCheckFailed(e)) return false;
      throw e;
    }
  }

  async activitiesStartedBetween(userId: string, from: number, to: number, limit: number): Promise<string[]> {
    if (from > to) return [];
    const res = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: STARTED_AT_INDEX,
        KeyConditionExpression: 'pk = :pk AND #started BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#started': STARTED_AT_ATTRIBUTE },
        ExpressionAttributeValues: { ':pk': userPk(userId), ':from': Math.floor(from), ':to': Math.ceil(to) },
        Limit: limit,
      }),
    );
    return ((res.Items ?? []) as { sk: string }[]).filter((i) => i.sk.startsWith(ACTIVITY_SK_PREFIX)).map((i) => i.sk.slice(ACTIVITY_SK_PREFIX.length));
  }

  private async read(userId: string, key: string): Promise<ClaimItem | undefined> {
    const res = await this.send(new GetCommand({ TableName: this.tableName, Key: { pk: userPk(userId), sk: claimSk(key) }, ConsistentRead: true }));
    return res.Item as ClaimItem | undefined;
  }

  private async send<T>(command: T): Promise<any> {
    try {
      return await this.db.send(command as never);
    } catch (e) {
      throw translateSdkError(e);
    }
  }
}
