/**
 * Processing construct in isolation (bundling skipped): the S3 trigger and its filter, async
 * retries into an encrypted DLQ, the function's shape, and grants from its handler's access list.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { uploadObjectKey } from '../../lambdas/core/uploads.js';
import { accessBindings } from '../../lib/access.js';
import { CursorSecret } from '../../lib/cursor-secret.js';
import { Data } from '../../lib/data.js';
import { Files } from '../../lib/files.js';
import { FIT_KEY_FILTER, Processing, type ProcessingProps } from '../../lib/processing.js';
import { fastApp, logicalId, resources, statementsOf, type Resource } from './support.js';
import { FIT_MAX_BYTES } from '../../lambdas/fit/limits.js';

function processingStack(props: Partial<ProcessingProps> = {}) {
  const stack = new Stack(fastApp(), 'ProcessingTest');
  const data = new Data(stack, 'Data', { stage: 'dev' });
  const files = new Files(stack, 'Files', { stage: 'dev' });
  const cursorSecret = new CursorSecret(stack, 'CursorSecret');
  const processing = new Processing(stack, 'Processing', {
    stage: 'dev',
    bucket: files.uploads,
    access: accessBindings({ data, cursorSecret, files }),
    ...props,
  });
  const template = Template.fromStack(stack);
  const ids = { fn: logicalId(stack, processing.function), dlq: logicalId(stack, processing.deadLetterQueue), uploads: logicalId(stack, files.uploads), table: logicalId(stack, data.table) };
  const fnProps = () => (template.findResources('AWS::Lambda::Function')[ids.fn] as Resource).Properties;
  return { stack, processing, template, ids, fnProps };
}

describe('Processing', () => {
  const { stack, processing, template, ids, fnProps } = processingStack();

  it('is triggered by objects created under users/ ending in .fit or .image, and nothing else', () => {
    const [[, notifications]] = resources(template, 'Custom::S3BucketNotifications') as [[string, Resource]];
    expect(notifications.Properties).toMatchObject({
      BucketName: { Ref: ids.uploads },
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: expect.arrayContaining([{ Name: 'prefix', Value: 'users/' }, { Name: 'suffix', Value: '.fit' }]) } },
            LambdaFunctionArn: { 'Fn::GetAtt': [ids.fn, 'Arn'] },
          },
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: expect.arrayContaining([{ Name: 'prefix', Value: 'users/' }, { Name: 'suffix', Value: '.image' }]) } },
            LambdaFunctionArn: { 'Fn::GetAtt': [ids.fn, 'Arn'] },
          },
        ],
      },
    });
    expect(Object.keys(notifications.Properties.NotificationConfiguration as object)).toEqual(['LambdaFunctionConfigurations']);
    expect(JSON.stringify(notifications.Properties.NotificationConfiguration).match(/"Name"/g)).toHaveLength(4);
  });

  it('the filter matches every FIT key uploads-create signs, and no image key', () => {
    const matches = (key: string) => key.startsWith(FIT_KEY_FILTER.prefix!) && key.endsWith(FIT_KEY_FILTER.suffix!);
    for (const userId of ['3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b', 'auth0|5f7c8ec7c33c6c004bbafe82', 'läufer@example.com']) {
      expect(matches(uploadObjectKey({ userId, kind: 'fit', uploadId: '01JD0Z8W' })), userId).toBe(true);
      expect(matches(uploadObjectKey({ userId, kind: 'image', uploadId: '01JD0Z8W' })), userId).toBe(false);
    }
    expect(FIT_KEY_FILTER).toEqual({ prefix: 'users/', suffix: '.fit' });
  });

  it('only S3, from this bucket in this account, may invoke it', () => {
    const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(ids.fn));
    expect(permissions.map(([, p]) => p.Properties)).toEqual([
      { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [ids.fn, 'Arn'] }, Principal: 's3.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' }, SourceArn: { 'Fn::GetAtt': [ids.uploads, 'Arn'] } },
    ]);
  });

  it('retries a failed event twice, for up to 6 hours, then sends it to the DLQ', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ids.fn },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } } },
    });
  });

  it('the DLQ is encrypted, TLS-only and keeps messages 14 days', () => {
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.dlq }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('runs on nodejs22.x arm64 with 512 MB, 60 s and FIT_MAX_BYTES = 4,400,000, no reserved concurrency', () => {
    expect(fnProps()).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 512, Timeout: 60 });
    expect(fnProps().ReservedConcurrentExecutions).toBeUndefined();
  });

  it('gets the variables of its access list (table, uploads-get) and no cursor secret', () => {
    expect((fnProps().Environment as { Variables: unknown }).Variables).toEqual({
      POWERTOOLS_SERVICE_NAME: 'runningcoach-sync',
      NODE_OPTIONS: '--enable-source-maps',
      FIT_MAX_BYTES: String(FIT_MAX_BYTES),
      TABLE_NAME: { Ref: ids.table },
      UPLOADS_BUCKET: { Ref: ids.uploads },
    });
  });

  it('may read users/* of the uploads bucket, use the table, write its logs and send to its DLQ; nothing else', () => {
    const own = statementsOf(stack, template, processing.function).map(({ Action, Resource }) => ({ Action, Resource }));
    expect(own).toEqual(
      expect.arrayContaining([
        { Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.uploads, 'Arn'] }, '/users/*']] } },
        { Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [ids.dlq, 'Arn'] } },
      ]),
    );
    const services = new Set(own.flatMap((s) => [s.Action].flat()).map((a) => a.split(':')[0]));
    expect(services).toEqual(new Set(['logs', 'dynamodb', 's3', 'sqs']));
    expect(own.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
  });

  it('takes its limits as props', () => {
    const { fnProps, template } = processingStack({ maxFileBytes: 1_000_000, memorySize: 1024, timeout: Duration.seconds(120), reservedConcurrency: 5, retryAttempts: 0, maxEventAge: Duration.hours(1) });
    expect(fnProps()).toMatchObject({ MemorySize: 1024, Timeout: 120, ReservedConcurrentExecutions: 5, Environment: { Variables: { FIT_MAX_BYTES: '1000000' } } });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 });
    expect(() => processingStack({ maxFileBytes: 0 })).toThrow(/maxFileBytes must be a positive integer/);
  });

  it('takes its handler as a prop: grants and environment follow that handler\'s access list', () => {
    const { stack, processing, template, fnProps } = processingStack({ handler: { handler: 'sync-pull', access: ['table', 'cursor-secret', 'uploads-get'] } });
    expect(Object.keys((fnProps().Environment as { Variables: object }).Variables)).toContain('CURSOR_SECRET_ARN');
    const services = new Set(statementsOf(stack, template, processing.function).flatMap((s) => [s.Action].flat()).map((a) => a.split(':')[0]));
    expect(services).toEqual(new Set(['logs', 'dynamodb', 'secretsmanager', 's3', 'sqs']));
  });
});
