/**
 * Processing: the FIT processor. S3 calls it asynchronously for every object created under
 * `users/` whose key ends in `.fit` (`users/<sub>/fit/<upload_id>.fit`); Lambda retries a failed
 * event twice, then sends it, with the error, to an encrypted SQS dead-letter queue that an alarm
 * watches. The handler is idempotent (S3 may deliver an event twice or late), so retries are safe.
 *
 * Its rights come from its HandlerDef's `access` list, like the API's handlers, plus
 * sqs:SendMessage on the DLQ (Lambda sends on-failure records with the function's role).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { DestinationOptions, DestinationConfig, IDestination, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { EventType, type IBucket, type NotificationKeyFilter } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_UPLOAD_LIMITS, FIT_EVENT_FILTER, UPLOAD_EVENT_FILTERS } from '../lambdas/core/uploads.js';
import { EVENT_HANDLERS, type HandlerDef } from '../lambdas/routes.js';
import { environmentFor, grantAccess, type AccessBindings } from './access.js';
import { HandlerFunction } from './handler-function.js';
import { deadLetterQueue } from './dead-letters.js';
import type { Stage } from './stage.js';

/**
 * Objects that trigger the processor (`users/` … `.fit`): the key layout's own filter from
 * lambdas/core/uploads.ts, so the subscription and the keys uploads-create signs cannot drift.
 */
export const FIT_KEY_FILTER: NotificationKeyFilter = { ...FIT_EVENT_FILTER };
/** Images (`users/` … `.image`): the processor only marks them `processed` once they exist. */
export const IMAGE_KEY_FILTER: NotificationKeyFilter = { ...UPLOAD_EVENT_FILTERS.image };
/** Upper bound of a FIT upload (the presign policy's content-length range), read as FIT_MAX_BYTES. */
export const DEFAULT_FIT_MAX_BYTES = DEFAULT_UPLOAD_LIMITS.fit.maxBytes;

export interface ProcessingProps {
  readonly stage: Stage;
  /** The uploads bucket whose object-created events feed the processor. */
  readonly bucket: IBucket;
  /** How each access kind of `handler.access` is granted (the stack's bindings). */
  readonly access: AccessBindings;
  /** @default EVENT_HANDLERS.fitProcess (`lambdas/handlers/fit-process.ts`, table + uploads-get) */
  readonly handler?: HandlerDef;
  /** Extra environment (tuning variables), below the access variables and FIT_MAX_BYTES. */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default DEFAULT_FIT_MAX_BYTES (lambdas/core/uploads.ts FIT_MAX_BYTES: 4,400,000; the config refuses more) */
  readonly maxFileBytes?: number;
  /** The processor's bounds (FIT_MAX_MESSAGES, FIT_MAX_BYTES) are measured for 512 MB (bench/fit.ts). @default 512 */
  readonly memorySize?: number;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /**
   * Caps concurrent processors, e.g. to protect the table's write rate during a bulk import.
   * Unset by default: reserving concurrency takes it from the account's unreserved pool, and
   * fails to deploy on accounts whose limit is still the default 10.
   * @default undefined - no reservation
   */
  readonly reservedConcurrency?: number;
  /** Lambda's own retries of a failed event (0–2). @default 2 */
  readonly retryAttempts?: number;
  /**
   * How long an event may wait (throttled, retrying) before it goes to the DLQ. The maximum: a
   * late activity is better than a failed upload. @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class Processing extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  /** On-failure destination: records with the original S3 event and the error, kept 14 days. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    const def = props.handler ?? EVENT_HANDLERS.fitProcess;
    const maxFileBytes = props.maxFileBytes ?? DEFAULT_FIT_MAX_BYTES;
    if (!Number.isInteger(maxFileBytes) || maxFileBytes <= 0) throw new Error(`maxFileBytes must be a positive integer, not ${maxFileBytes}`);

    this.deadLetterQueue = deadLetterQueue(this, props.stage, 'This queue is the dead-letter queue (Lambda on-failure destination) of the FIT processor; it has no consumer to fail.');

    const handler = new HandlerFunction(this, 'Handler', {
      stage: props.stage,
      handler: def.handler,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      logRetention: props.logRetention,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: environmentFor(def, props.access, { ...props.environment, FIT_MAX_BYTES: String(maxFileBytes) }),
    });
    this.function = handler.function;
    this.logGroup = handler.logGroup;
    grantAccess(this.function, def, props.access);

    this.function.configureAsyncInvoke({
      retryAttempts: props.retryAttempts ?? 2,
      maxEventAge: props.maxEventAge ?? Duration.hours(6),
      onFailure: new SendOnlyQueueDestination(this.deadLetterQueue),
    });
    const destination = new LambdaDestination(this.function);
    props.bucket.addEventNotification(EventType.OBJECT_CREATED, destination, FIT_KEY_FILTER);
    props.bucket.addEventNotification(EventType.OBJECT_CREATED, destination, IMAGE_KEY_FILTER);
    acknowledgeNotificationsHandler(this);
  }
}

/**
 * S3 notifications are configured at deploy time by CDK's stack-wide custom resource
 * (`BucketNotificationsHandler…`): its role carries AWSLambdaBasicExecutionRole, added by CDK
 * whatever role is passed in. Its own policy is scoped by CDK to s3:PutBucketNotification on the
 * bucket. Acknowledged on that construct only; the handlers of this app carry no managed policy.
 */
function acknowledgeNotificationsHandler(scope: Construct): void {
  const handler = Stack.of(scope).node.tryFindChild(NOTIFICATIONS_HANDLER_ID);
  if (!handler) throw new Error(`expected CDK's ${NOTIFICATIONS_HANDLER_ID} after addEventNotification`);
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      "CDK's deploy-time S3 notification custom resource: CDK attaches the basic execution managed policy (log writing) to " +
      'its role unconditionally; it runs only during CloudFormation updates and holds no data rights.',
  });
}

/** Construct id of aws-cdk-lib's S3 notifications custom resource handler (a stack singleton). */
export const NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/**
 * Like aws-lambda-destinations' SqsDestination, but grants only sqs:SendMessage (all Lambda
 * needs to deliver an on-failure record), not GetQueueAttributes/GetQueueUrl as well.
 */
class SendOnlyQueueDestination implements IDestination {
  constructor(private readonly queue: IQueue) {}

  bind(_scope: Construct, fn: IFunction, _options?: DestinationOptions): DestinationConfig {
    Grant.addToPrincipal({ grantee: fn, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
    return { destination: this.queue.queueArn };
  }
}
