/** Alarms as wired by the stack: metrics, thresholds, one throttle alarm per function, actions from context. */
import { readdirSync, readFileSync } from 'node:fs';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { Alarms, METRICS_NAMESPACE } from '../../lib/alarms.js';
import { HANDLERS_DIR, SERVICE_NAME } from '../../lib/handler-function.js';
import { appFunctions, fastApp, logicalId, resources, synthStack } from './support.js';

type AlarmProps = Record<string, unknown> & { AlarmName: string; Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: unknown[] }; Stat: string; Period: number } }[] };
const alarms = (t: Template) => resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as AlarmProps);
const named = (t: Template, suffix: string) => alarms(t).find((a) => a.AlarmName.endsWith(suffix))!;

describe('Alarms', () => {
  const { stack, template } = synthStack({}, 'AlarmTest');

  it('API 5xx rate: 100 × 5xx ÷ Count of the $default stage over 5 minutes, > 5 %, at least 20 requests', () => {
    const a = named(template, '-api-5xx-rate');
    expect(a).toMatchObject({ AlarmName: 'AlarmTest-api-5xx-rate', Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const byId = Object.fromEntries(a.Metrics!.map((m) => [m.Id, m]));
    expect(a.Metrics!.find((m) => m.Expression)!.Expression).toBe('IF(requests >= 20, 100 * errors / requests, 0)');
    const dims = [{ Name: 'ApiId', Value: { Ref: logicalId(stack, stack.api.httpApi) } }, { Name: 'Stage', Value: '$default' }];
    expect(byId.errors!.MetricStat).toEqual({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: dims }, Stat: 'Sum', Period: 300 });
    expect(byId.requests!.MetricStat).toEqual({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: 'Count', Dimensions: dims }, Stat: 'Sum', Period: 300 });
  });

  it('throttles: one alarm per function (API handlers, the FIT processor, the server-write ingress, the change feed), any throttle in 5 minutes', () => {
    const fns = [
      ...appFunctions(stack),
      { name: 'server-write-queue', fn: stack.serverWrites.function },
      { name: 'change-feed', fn: stack.changeFeed.function },
    ];
    const throttles = alarms(template).filter((a) => a.MetricName === 'Throttles');
    expect(throttles).toHaveLength(fns.length);
    for (const { name, fn } of fns) {
      expect(named(template, `-${name}-throttles`), name).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack, fn) } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('DLQ depth: any visible message in the FIT dead-letter queue', () => {
    expect(named(template, '-fit-dlq-not-empty')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, stack.processing.deadLetterQueue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('sync conflicts: the handlers\' EMF metric, summed per minute, > 100 for 3 minutes out of 5', () => {
    expect(named(template, '-sync-conflicts')).toMatchObject({
      Namespace: 'RunningCoachSync',
      MetricName: 'SyncConflicts',
      Dimensions: [{ Name: 'service', Value: 'runningcoach-sync' }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 100,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('watch the namespace, service dimension and metric name the handlers actually publish', () => {
    const runtime = readFileSync(new URL('../../lambdas/runtime.ts', import.meta.url), 'utf8');
    expect(runtime).toContain(`SERVICE_NAME = '${SERVICE_NAME}'`);
    expect(runtime).toMatch(new RegExp(`new Metrics\\(\\{ namespace: '${METRICS_NAMESPACE}', serviceName: SERVICE_NAME \\}\\)`));
    const publishers = readdirSync(HANDLERS_DIR).filter((f) => readFileSync(`${HANDLERS_DIR}${f}`, 'utf8').includes("addMetric('SyncConflicts'"));
    expect(publishers).toContain('sync-push.ts');
  });

  it('notify no one by default', () => {
    for (const a of alarms(template)) {
      expect(a.AlarmActions, a.AlarmName).toBeUndefined();
      expect(a.OKActions, a.AlarmName).toBeUndefined();
    }
  });

  it('-c alarmTopicArn: every alarm notifies the topic on ALARM and on OK', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:ops-pager';
    const { template } = synthStack({ alarmTopicArn: topic }, 'AlarmTopicTest');
    expect(alarms(template).length).toBeGreaterThanOrEqual(4);
    for (const a of alarms(template)) expect([a.AlarmActions, a.OKActions], a.AlarmName).toEqual([[topic], [topic]]);
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  it('takes thresholds as props', () => {
    const stack = new Stack(fastApp(), 'AlarmProps');
    const httpApi = new HttpApi(stack, 'Api', { createDefaultStage: false });
    const httpStage = new HttpStage(stack, 'Stage', { httpApi });
    const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('export const handler = async () => {}') });
    new Alarms(stack, 'Alarms', {
      httpStage,
      functions: new Map([['only', fn]]),
      deadLetterQueue: new Queue(stack, 'Dlq'),
      serverErrorRatePercent: 1,
      minRequestsForErrorRate: 100,
      conflictsPerMinute: 10,
    });
    const t = Template.fromStack(stack);
    expect(named(t, '-api-5xx-rate')).toMatchObject({ Threshold: 1 });
    expect(named(t, '-api-5xx-rate').Metrics!.find((m) => m.Expression)!.Expression).toBe('IF(requests >= 100, 100 * errors / requests, 0)');
    expect(named(t, '-sync-conflicts')).toMatchObject({ Threshold: 10 });
    expect(alarms(t).filter((a) => a.MetricName === 'Throttles').map((a) => a.AlarmName)).toEqual(['AlarmProps-only-throttles']);
  });
});
