/** `DeadLetters` on an SQS FIFO dead-letter queue: the original body, the reason as a message attribute. */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetters, QueuedMessage } from '../core/server-write-queue.js';

export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: QueuedMessage, reason: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: message.body,
        // FIFO: keep the user's group; the original message id deduplicates a repeated hand-over.
        MessageGroupId: message.groupId || 'ungrouped',
        MessageDeduplicationId: message.messageId,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: reason.slice(0, 4000) },
          original_message_id: { DataType: 'String', StringValue: message.messageId },
        },
      }),
    );
  }
}

export function sqsDeadLetters(queueUrl: string): SqsDeadLetters {
  return new SqsDeadLetters(new SQSClient({}), queueUrl);
}
