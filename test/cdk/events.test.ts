/**
 * The server-write ingress (ServerWrites) and the change feed (ChangeFeed) in the template: the
 * queues and their DLQs, the event source mappings, the bus, the alarms, and least-privilege grants
 * (each function may reach exactly its queue/stream/bus; a sending service only SendMessage).
 */
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Template } from 'aws-cdk-lib/assertions';
import { TABLE_KEYS } from '../../lambdas/adapters/dynamo/keys.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/config.js';
import { SYNC_INDEX_ACTIONS, SYNC_TABLE_ACTIONS } from '../../lib/data.js';
import { STREAM_READ_ACTIONS } from '../../lib/change-feed.js';
import { SyncStack } from '../../lib/stack.js';
import { actionsOf, fastApp, logicalId, resources, statements, statementsOf, synthStack, type Resource, type Statement } from './support.js';

const { stack, template } = synthStack();
const id = (c: Parameters<typeof logicalId>[1]) => logicalId(stack, c);
const arnOf = (c: Parameters<typeof logicalId>[1]) => ({ 'Fn::GetAtt': [id(c), 'Arn'] });
const tableArn = arnOf(stack.data.table);
const streamArn = { 'Fn::GetAtt': [id(stack.data.table), 'StreamArn'] };
const resourcesOf = (s: Statement) => [s.Resource].flat().map((r) => JSON.stringify(r));
const byResource = (ss: readonly Statement[]) => {
  const out: Record<string, string[]> = {};
  for (const s of ss) for (const r of resourcesOf(s)) (out[r] ??= []).push(...[s.Action].flat());
  for (const k of Object.keys(out)) out[k] = [...new Set(out[k])].sort();
  return out;
};
const queue = (c: Parameters<typeof logicalId>[1]) => (template.findResources('AWS::SQS::Queue') as Record<string, Resource>)[id(c)]!.Properties;
const mappings = resources(template, 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
const mappingOf = (fn: Parameters<typeof logicalId>[1]) => mappings.filter((m) => JSON.stringify(m.FunctionName) === JSON.stringify({ Ref: id(fn) }));

describe('Data', () => {
  it('streams every write with its old and new image', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  });
});

describe('ServerWrites', () => {
  const sw = stack.serverWrites;
  it('a FIFO queue, encrypted, TLS only: deduplication by the sender id per message group (the user), 6× the function timeout of visibility, 5 receives then the FIFO DLQ', () => {
    expect(queue(sw.queue)).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: arnOf(sw.deadLetterQueue), maxReceiveCount: 5 },
    });
    expect(queue(sw.deadLetterQueue)).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    const tlsOnly = resources(template, 'AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties.Queues).includes(id(sw.queue)));
    expect(JSON.stringify(tlsOnly)).toContain('"aws:SecureTransport":"false"');
  });

  it('the consumer: batches of 10 from the queue with partial batch responses', () => {
    expect(mappingOf(sw.function)).toEqual([
      expect.objectContaining({ EventSourceArn: arnOf(sw.queue), BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] }),
    ]);
  });

  it('its rights: the sync actions on the table and its pull indexes, consuming its queue, SendMessage on its DLQ; nothing else', () => {
    const rights = byResource(statementsOf(stack, template, sw.function).filter((s) => !actionsOf([s]).every((a) => a.startsWith('logs:'))));
    expect(rights).toEqual({
      [JSON.stringify(tableArn)]: [...SYNC_TABLE_ACTIONS].sort(),
      [JSON.stringify({ 'Fn::Join': ['', [tableArn, `/index/${stack.data.updatedAtIndexName}`]] })]: [...SYNC_INDEX_ACTIONS],
      [JSON.stringify({ 'Fn::Join': ['', [tableArn, `/index/${TABLE_KEYS.liveIndex.name}`]] })]: [...SYNC_INDEX_ACTIONS],
      [JSON.stringify(arnOf(sw.queue))]: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
      [JSON.stringify(arnOf(sw.deadLetterQueue))]: ['sqs:SendMessage'],
    });
  });

  it('grantSend: a sending service gets sqs:SendMessage on the ingress queue and nothing else', () => {
    const s = new SyncStack(fastApp(), 'GrantTest', { stage: 'dev' });
    const planEngine = new Role(s, 'PlanEngine', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    s.serverWrites.grantSend(planEngine);
    const t = Template.fromStack(s);
    const own = statements(t).filter((st) => st.roles.includes(s.getLogicalId(planEngine.node.defaultChild as never)));
    expect(own.map((st) => [st.Action, st.Resource])).toEqual([['sqs:SendMessage', { 'Fn::GetAtt': [s.getLogicalId(s.serverWrites.queue.node.defaultChild as never), 'Arn'] }]]);
  });
});

describe('ChangeFeed', () => {
  const cf = stack.changeFeed;
  it('an event bus of its own', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it("reads the table's stream from its start: records only (sk begins R#), batch item failures, bisect, 10 retries, then its DLQ", () => {
    expect(mappingOf(cf.function)).toEqual([
      expect.objectContaining({
        EventSourceArn: streamArn,
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        ParallelizationFactor: 1,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 86400,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: arnOf(cf.deadLetterQueue) } },
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { sk: { S: [{ prefix: 'R#' }] } } } }) }] },
      }),
    ]);
  });

  it('its rights: reading this stream, PutEvents on this bus, sending failures to its DLQ; no right on the table itself', () => {
    const rights = byResource(statementsOf(stack, template, cf.function).filter((s) => !actionsOf([s]).every((a) => a.startsWith('logs:'))));
    expect(rights).toEqual({
      [JSON.stringify(streamArn)]: [...STREAM_READ_ACTIONS].sort(),
      [JSON.stringify(arnOf(cf.bus))]: ['events:PutEvents'],
      [JSON.stringify(arnOf(cf.deadLetterQueue))]: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
    });
    expect(Object.keys(rights)).not.toContain(JSON.stringify(tableArn));
  });
});

describe('alarms', () => {
  const alarm = (suffix: string) =>
    resources(template, 'AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .find((p) => JSON.stringify(p.AlarmName).endsWith(`${suffix}"]]}`) || String(p.AlarmName).endsWith(suffix));
  it('server-write DLQ depth and oldest message age; change-feed DLQ depth and iterator age', () => {
    expect(alarm('-server-write-dlq-not-empty')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(stack.serverWrites.deadLetterQueue), 'QueueName'] } }] });
    expect(alarm('-server-write-queue-age')).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 300, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(stack.serverWrites.queue), 'QueueName'] } }] });
    expect(alarm('-change-feed-dlq-not-empty')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(stack.changeFeed.deadLetterQueue), 'QueueName'] } }] });
    expect(alarm('-change-feed-lag')).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'IteratorAge', Threshold: 300_000, Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(stack.changeFeed.function) } }] });
  });
});

describe('environments satisfy lambdas/config.ts', () => {
  const env = (fn: Parameters<typeof logicalId>[1]) =>
    ((template.findResources('AWS::Lambda::Function') as Record<string, Resource>)[id(fn)]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const PLACEHOLDERS: Record<string, string> = {
    TABLE_NAME: 'RunningCoachSync-dev-DataSyncTable-1A2B3C',
    SERVER_WRITE_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ServerWritesDeadLetters.fifo',
    EVENT_BUS_NAME: 'StackTestChangeFeedBus1A2B3C',
  };
  const resolved = (vars: Record<string, unknown>) => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : PLACEHOLDERS[k]]));
  it('server-write-queue: the table and its DLQ URL', () => {
    const vars = env(stack.serverWrites.function);
    expect(vars.SERVER_WRITE_DLQ_URL).toEqual({ Ref: id(stack.serverWrites.deadLetterQueue) });
    expect(loadConfig(resolved(vars)).serverWriteDlqUrl).toBe(PLACEHOLDERS.SERVER_WRITE_DLQ_URL);
  });
  it('change-feed: the bus name', () => {
    const vars = env(stack.changeFeed.function);
    expect(vars.EVENT_BUS_NAME).toEqual({ Ref: id(stack.changeFeed.bus) });
    expect(loadConfig(resolved(vars)).eventBusName).toBe(PLACEHOLDERS.EVENT_BUS_NAME);
  });
});
