/**
 * The server-write ingress: SQS FIFO batches → `consumeServerWrites` (lambdas/core/server-write-queue.ts),
 * answered as a partial batch response (`ReportBatchItemFailures`): only the messages to retry
 * come back to the queue.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sqsDeadLetters } from '../adapters/sqs-dead-letters.js';
import { InternalError } from '../core/errors.js';
import { consumeServerWrites, type DeadLetters } from '../core/server-write-queue.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createServerWriteQueueHandler(rt: Runtime, deadLetters: DeadLetters): SqsHandler {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(rt.logger, { resetKeys: true }))
    .use(logMetrics(rt.metrics))
    .handler(async (event) => {
      const messages = (event.Records ?? []).map((r) => ({ messageId: r.messageId, groupId: r.attributes?.MessageGroupId, body: r.body }));
      const outcomes = await consumeServerWrites(messages, {
        store: rt.store,
        now: rt.now,
        config: rt.config.push,
        deadLetters,
        log: { info: (m, extra) => rt.logger.info(m, extra), warn: (m, extra) => rt.logger.warn(m, extra) },
      });
      for (const kind of ['applied', 'dead-lettered', 'retry'] as const) {
        const n = outcomes.filter((o) => o.outcome === kind).length;
        if (n > 0) rt.metrics.addMetric(`ServerWrites_${kind}`, MetricUnit.Count, n);
      }
      return { batchItemFailures: outcomes.filter((o) => o.outcome === 'retry').map((o) => ({ itemIdentifier: o.messageId })) };
    }) as unknown as SqsHandler;
}

let built: Promise<SqsHandler> | undefined;
export const handler: SqsHandler = async (event, context) => {
  built ??= lambdaRuntime().then((rt) => {
    if (!rt.config.serverWriteDlqUrl) throw new InternalError('SERVER_WRITE_DLQ_URL is not configured');
    return createServerWriteQueueHandler(rt, sqsDeadLetters(rt.config.serverWriteDlqUrl));
  });
  return (await built)(event, context);
};
