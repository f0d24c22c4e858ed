/**
 * Data: the single sync table, built from the key layout the runtime uses (TABLE_KEYS), with
 * secure defaults (on-demand, point-in-time recovery, encryption at rest, TTL) and a
 * stage-dependent lifecycle.
 */
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../lambdas/adapters/dynamo/keys.js';
import { removalPolicyFor, type Stage } from './stage.js';

/**
 * What a sync handler (pull and push) does to the table: point reads, conditional writes and
 * queries (table and the `updated_at` index). No Scan, DeleteItem (deletes are tombstones,
 * expired by TTL) or batch writes.
 */
export const SYNC_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'] as const;
export const SYNC_INDEX_ACTIONS = ['dynamodb:Query'] as const;
/** What account erasure adds to the sync actions: deleting items (its own partition and its id claims). */
export const ERASE_TABLE_ACTIONS = ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] as const;

export interface DataProps {
  /** prod: retained on delete and deletion-protected; dev: destroyed with the stack. */
  readonly stage: Stage;
}

export class Data extends Construct {
  /** The sync table (partition `pk`, sort `sk`). */
  public readonly table: Table;
  /** Name of the GSI serving delta pulls (partition `pk`, sort `updated_at`). */
  public readonly updatedAtIndexName: string = TABLE_KEYS.index.name;

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    const prod = props.stage === 'prod';
    this.table = new Table(this, 'SyncTable', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      // AWS-owned key: always encrypted at rest, no KMS grants or charges (renders SSEEnabled: false).
      encryption: TableEncryption.DEFAULT,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Expired tombstones and conflict-log entries; TTL deletes are free and need no IAM right.
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      // The change feed (lib/change-feed.ts) reads every write with its before and after.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: prod,
      removalPolicy: removalPolicyFor(props.stage),
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.index.name,
      partitionKey: { name: TABLE_KEYS.index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.index.sortKey, type: AttributeType.NUMBER },
      projectionType: ProjectionType.ALL,
    });
    // Live records only (tombstones carry no `live_at`): first and replacement syncs read no tombstone.
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.liveIndex.name,
      partitionKey: { name: TABLE_KEYS.liveIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.liveIndex.sortKey, type: AttributeType.NUMBER },
      projectionType: ProjectionType.ALL,
    });
    // Live activities by start time, keys only: the FIT processor's bounded candidate query.
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.startedAtIndex.name,
      partitionKey: { name: TABLE_KEYS.startedAtIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.startedAtIndex.sortKey, type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }

  /** Deleting items of the table, by its exact ARN (account erasure only). */
  public grantErase(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: [...ERASE_TABLE_ACTIONS], resourceArns: [this.table.tableArn] });
  }

  /** Query on the `by_started_at` index only, by its exact ARN (the FIT processor). */
  public grantActivitiesByStart(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${TABLE_KEYS.startedAtIndex.name}`] });
  }

  /**
   * Lets a sync handler read and write records: the actions in SYNC_TABLE_ACTIONS on the table
   * and Query on the `updated_at` and live indexes, by their exact ARNs (no `index/*` wildcard).
   */
  public grantSync(grantee: IGrantable): Grant {
    const indexArns = [this.updatedAtIndexName, TABLE_KEYS.liveIndex.name].map((name) => `${this.table.tableArn}/index/${name}`);
    const onTable = Grant.addToPrincipal({ grantee, actions: [...SYNC_TABLE_ACTIONS], resourceArns: [this.table.tableArn] });
    const onIndex = Grant.addToPrincipal({ grantee, actions: [...SYNC_INDEX_ACTIONS], resourceArns: indexArns });
    return onTable.combine(onIndex);
  }
}
