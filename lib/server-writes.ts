/**
 * ServerWrites: the ingress for server-side writes by other services of the account (the plan
 * engine re-optimising a plan, Garmin imports). An SQS FIFO queue — message group = the user, so
 * one user's writes apply in order; deduplication by the sender's MessageDeduplicationId — consumed
 * by the `server-write-queue` Lambda (partial batch responses). A message that can never apply is
 * sent by the handler to the FIFO dead-letter queue with its reason; one that keeps failing for a
 * passing reason lands there after `maxReceiveCount` receives. Senders get `grantSend` (SendMessage
 * on this queue only).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_HANDLERS, type HandlerDef } from '../lambdas/routes.js';
import { environmentFor, grantAccess, type AccessBindings } from './access.js';
import { HandlerFunction } from './handler-function.js';
import { removalPolicyFor, type Stage } from './stage.js';

export interface ServerWritesProps {
  readonly stage: Stage;
  readonly access: AccessBindings;
  /** @default EVENT_HANDLERS.serverWriteQueue */
  readonly handler?: HandlerDef;
  /** Messages per invocation (FIFO: at most 10). @default 10 */
  readonly batchSize?: number;
  /** Receives before SQS moves a message that keeps failing to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
}

export class ServerWrites extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: ServerWritesProps) {
    super(scope, id);
    const def = props.handler ?? EVENT_HANDLERS.serverWriteQueue;
    const timeout = props.timeout ?? Duration.seconds(60);
    const common = { fifo: true, encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, removalPolicy: removalPolicyFor(props.stage) } as const;
    this.deadLetterQueue = new Queue(this, 'DeadLetters', { ...common, retentionPeriod: Duration.days(14) });
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the server-write ingress.' });
    this.queue = new Queue(this, 'Queue', {
      ...common,
      // Deduplication by the sender's id (MessageDeduplicationId), never by content: the same write
      // sent again on purpose later is a new message (and a no-op if nothing changed).
      contentBasedDeduplication: false,
      // High-throughput FIFO: deduplication and throughput per message group (per user).
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      retentionPeriod: Duration.days(4),
      // AWS's guidance for a Lambda consumer: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    const handler = new HandlerFunction(this, 'Handler', {
      stage: props.stage,
      handler: def.handler,
      timeout,
      environment: environmentFor(def, props.access, { SERVER_WRITE_DLQ_URL: this.deadLetterQueue.queueUrl }),
    });
    this.function = handler.function;
    grantAccess(this.function, def, props.access);
    // The handler dead-letters refused messages itself (with the reason): SendMessage on the DLQ only.
    Grant.addToPrincipal({ grantee: this.function, actions: ['sqs:SendMessage'], resourceArns: [this.deadLetterQueue.queueArn] });
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: props.batchSize ?? 10, reportBatchItemFailures: true }));
  }

  /** Lets another service of the account send server writes: sqs:SendMessage on this queue only. */
  public grantSend(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
  }
}
