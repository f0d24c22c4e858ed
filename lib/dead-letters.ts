/**
 * The dead-letter queue of an asynchronous consumer (the FIT processor's on-failure destination,
 * the change feed's failed stream ranges): encrypted, TLS only, kept 14 days, never consumed, so
 * cdk-nag's "DLQ of its own" rule (SQS3) is acknowledged with `reason`.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { removalPolicyFor, type Stage } from './stage.js';

export function deadLetterQueue(scope: Construct, stage: Stage, reason: string): Queue {
  const queue = new Queue(scope, 'DeadLetters', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: removalPolicyFor(stage),
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason });
  return queue;
}
