/**
 * The account's items for export and erasure (core/account.ts): every item of the user's
 * partition, and the id claims (other partitions) of the user's records. Deletes claims with a
 * condition on their owner (a claim is never someone else's to remove), partition items with
 * BatchWriteItem (25 per call, unprocessed ones retried).
 */
import { BatchWriteCommand, DeleteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountItemKey, AccountStore } from '../../core/account.js';
import { tableDef } from '../../core/schema.js';
import { isConditionalCheckFailed, translateSdkError } from './errors.js';
import { CLAIM_SK, claimPk, userPk } from './keys.js';

const BATCH_WRITE_MAX = 25;

export class DynamoAccountStore implements AccountStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async listItems(userId: string, page: { readonly limit: number; readonly after?: string }): Promise<{ keys: AccountItemKey[]; next?: string }> {
    const res = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': userPk(userId) },
        ProjectionExpression: 'pk, sk, tbl, rid',
        ConsistentRead: true,
        Limit: page.limit,
        ExclusiveStartKey: page.after ? { pk: userPk(userId), sk: page.after } : undefined,
      }),
    );
    const keys: AccountItemKey[] = [];
    for (const item of (res.Items ?? []) as { pk: string; sk: string; tbl?: string; rid?: string }[]) {
      // The claim first: deleted before the record that leads to it (a crash between leaves the record, found again).
      if (item.sk.startsWith('R#') && item.tbl && item.rid && tableDef(item.tbl)?.idScope === 'global') {
        keys.push({ pk: claimPk(item.tbl as never, item.rid), sk: CLAIM_SK });
      }
      keys.push({ pk: item.pk, sk: item.sk });
    }
    const last = res.LastEvaluatedKey as { sk?: string } | undefined;
    return { keys, ...(last?.sk ? { next: last.sk } : {}) };
  }

  async deleteItems(userId: string, keys: readonly AccountItemKey[]): Promise<void> {
    const claims = keys.filter((k) => k.sk === CLAIM_SK && k.pk.startsWith('ID#'));
    const own = keys.filter((k) => !(k.sk === CLAIM_SK && k.pk.startsWith('ID#')));
    for (const k of claims) {
      // Only the user's own claim (a claim is never another user's to remove).
      try {
        await this.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { pk: k.pk, sk: k.sk },
            ConditionExpression: 'attribute_not_exists(pk) OR #owner = :me',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':me': userId },
          }),
        );
      } catch (e) {
        if (!isConditionalCheckFailed(e)) throw e;
      }
    }
    for (let i = 0; i < own.length; i += BATCH_WRITE_MAX) {
      let pending: Record<string, unknown>[] = own.slice(i, i + BATCH_WRITE_MAX).map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round) * Math.random()));
        const res = await this.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
        pending = (res.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined) ?? [];
      }
    }
  }

  private async send<T>(command: T): Promise<any> {
    try {
      return await this.db.send(command as never);
    } catch (e) {
      throw translateSdkError(e);
    }
  }
}
