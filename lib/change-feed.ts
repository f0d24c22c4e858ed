/**
 * ChangeFeed: the stack's EventBridge bus and the `change-feed` Lambda that turns the sync table's
 * stream (new and old images) into one event per committed change of a synced record. The event
 * source mapping filters on the key (`sk` beginning `R#`: records only), so clocks, claims and
 * conflict-log entries never invoke the function; it reports batch item failures, bisects a
 * failing batch, retries, then sends the failed range's description to an SQS dead-letter queue.
 * The function may read this table's stream and put events on this bus, nothing else.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_HANDLERS, type HandlerDef } from '../lambdas/routes.js';
import { environmentFor, grantAccess, type AccessBindings } from './access.js';
import { HandlerFunction } from './handler-function.js';
import { deadLetterQueue } from './dead-letters.js';
import type { Stage } from './stage.js';

/** What Lambda's event source mapping needs on a DynamoDB stream, granted on the stream's exact ARN. */
export const STREAM_READ_ACTIONS = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'] as const;

export interface ChangeFeedProps {
  readonly stage: Stage;
  /** The sync table; its stream must be on (NEW_AND_OLD_IMAGES: the Data construct enables it). */
  readonly table: ITable;
  readonly access: AccessBindings;
  /** @default EVENT_HANDLERS.changeFeed */
  readonly handler?: HandlerDef;
  /** @default 100 */
  readonly batchSize?: number;
  /** Concurrent batches per shard; order per record holds at any value (by partition key). @default 1 */
  readonly parallelizationFactor?: number;
  /** @default 10 */
  readonly retryAttempts?: number;
}

export class ChangeFeed extends Construct {
  public readonly bus: EventBus;
  public readonly function: NodejsFunction;
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ChangeFeedProps) {
    super(scope, id);
    const def = props.handler ?? EVENT_HANDLERS.changeFeed;
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error('ChangeFeed needs the table stream (Data enables NEW_AND_OLD_IMAGES)');
    this.bus = new EventBus(this, 'Bus', { description: 'RunningCoach Sync change events (source runningcoach.sync)' });

    this.deadLetterQueue = deadLetterQueue(this, props.stage, 'This queue is the on-failure destination of the change feed (stream ranges that failed every retry); it has no consumer to fail.');

    const handler = new HandlerFunction(this, 'Handler', {
      stage: props.stage,
      handler: def.handler,
      timeout: Duration.seconds(60),
      // TABLE_NAME: the configuration requires it; the function has no right on the table itself.
      environment: environmentFor(def, props.access, { TABLE_NAME: props.table.tableName, EVENT_BUS_NAME: this.bus.eventBusName }),
    });
    this.function = handler.function;
    grantAccess(this.function, def, props.access);
    Grant.addToPrincipal({ grantee: this.function, actions: [...STREAM_READ_ACTIONS], resourceArns: [streamArn] });
    Grant.addToPrincipal({ grantee: this.function, actions: ['events:PutEvents'], resourceArns: [this.bus.eventBusArn] });

    this.function.addEventSourceMapping('TableStream', {
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      parallelizationFactor: props.parallelizationFactor ?? 1,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      maxRecordAge: Duration.days(1),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
      // Synced records only: internal items (clocks, id claims, conflict-log entries) never invoke it.
      filters: [FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: FilterRule.beginsWith('R#') } } } })],
    });
  }
}
