/**
 * Alarms: what an operator is woken for. Each alarm says what it watches in its description and
 * docs/deploy.md ("Alarms") says what to do when it fires. Missing data (no traffic, an idle
 * queue) never alarms.
 *
 * - API 5xx rate: `5xx` ÷ `Count` of the HTTP API stage over 5 minutes, in percent, counted only
 *   when the window saw enough requests for a rate to mean something.
 * - Throttles: one alarm per function (Lambda `Throttles`, any in 5 minutes). Per function rather
 *   than one math sum: it names the function, and an alarm's metric math may use at most 10
 *   metrics, which eight functions would nearly exhaust.
 * - DLQ depth: any FIT event that exhausted its retries.
 * - Sync conflicts per minute: the `SyncConflicts` EMF metric the push handler publishes
 *   (namespace RunningCoachSync, Powertools' default dimension `service`). Conflicts are normal
 *   offline; a sustained high rate means a client or clock bug.
 *
 * Notifications are not owned here: `alarmActions` (e.g. an SnsAction on the team's existing
 * topic, wired to chat or paging) receive both ALARM and OK transitions.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, MathExpression, Metric, Stats, TreatMissingData, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SERVICE_NAME } from './handler-function.js';

/** Namespace of the handlers' Powertools metrics (as in lambdas/runtime.ts; not imported, see SERVICE_NAME). */
export const METRICS_NAMESPACE = 'RunningCoachSync';

export interface AlarmsProps {
  /** The HTTP API stage whose `5xx` and `Count` give the error rate. */
  readonly httpStage: IHttpStage;
  /** Every function of the app, by handler name: one throttle alarm each. */
  readonly functions: ReadonlyMap<string, IFunction>;
  /** The FIT processor's dead-letter queue. */
  readonly deadLetterQueue: IQueue;
  /** The server-write ingress: its queue (age of the oldest message) and dead-letter queue (depth). */
  readonly serverWrites?: { readonly queue: IQueue; readonly deadLetterQueue: IQueue };
  /** The change feed: its function (stream iterator age) and dead-letter queue (depth). */
  readonly changeFeed?: { readonly function: IFunction; readonly deadLetterQueue: IQueue };
  /** Alarm when the oldest server write has waited longer than this. @default Duration.minutes(5) */
  readonly serverWriteMaxAge?: Duration;
  /** Alarm when the change feed lags the table by more than this. @default Duration.minutes(5) */
  readonly changeFeedMaxLag?: Duration;
  /** Run on ALARM and on OK. @default [] - the alarms show in the console and notify no one */
  readonly alarmActions?: readonly IAlarmAction[];
  /** @default 5 (percent of requests in 5 minutes) */
  readonly serverErrorRatePercent?: number;
  /** Below this many requests in the 5-minute window the rate counts as 0. @default 20 */
  readonly minRequestsForErrorRate?: number;
  /** Alarm when more conflicts than this are resolved per minute, 3 minutes out of 5. @default 100 */
  readonly conflictsPerMinute?: number;
}

export class Alarms extends Construct {
  public readonly serverErrorRate: Alarm;
  /** Keyed like `props.functions`. */
  public readonly throttles: ReadonlyMap<string, Alarm>;
  public readonly deadLetters: Alarm;
  public readonly syncConflicts: Alarm;
  public readonly serverWriteDeadLetters?: Alarm;
  public readonly serverWriteAge?: Alarm;
  public readonly changeFeedDeadLetters?: Alarm;
  public readonly changeFeedLag?: Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const prefix = Stack.of(this).stackName;
    const fiveMinutes = Duration.minutes(5);
    const minRequests = props.minRequestsForErrorRate ?? 20;

    this.serverErrorRate = new Alarm(this, 'ApiServerErrorRate', {
      alarmName: `${prefix}-api-5xx-rate`,
      alarmDescription: `More than ${props.serverErrorRatePercent ?? 5}% of API requests answered 5xx over 5 minutes (at least ${minRequests} requests). Runbook: docs/deploy.md#alarms`,
      metric: new MathExpression({
        label: 'API 5xx rate (%)',
        expression: `IF(requests >= ${minRequests}, 100 * errors / requests, 0)`,
        usingMetrics: {
          errors: props.httpStage.metricServerError({ statistic: Stats.SUM, period: fiveMinutes }),
          requests: props.httpStage.metricCount({ statistic: Stats.SUM, period: fiveMinutes }),
        },
        period: fiveMinutes,
      }),
      threshold: props.serverErrorRatePercent ?? 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const throttles = new Map<string, Alarm>();
    for (const [name, fn] of props.functions) {
      throttles.set(
        name,
        new Alarm(this, `Throttles-${name}`, {
          alarmName: `${prefix}-${name}-throttles`,
          alarmDescription: `Lambda throttled invocations of ${name}. Runbook: docs/deploy.md#alarms`,
          metric: fn.metricThrottles({ statistic: Stats.SUM, period: fiveMinutes }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.throttles = throttles;

    this.deadLetters = new Alarm(this, 'DeadLetters', {
      alarmName: `${prefix}-fit-dlq-not-empty`,
      alarmDescription: 'FIT processing events failed all retries and wait in the dead-letter queue. Runbook: docs/deploy.md#alarms',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: fiveMinutes }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const conflictsPerMinute = props.conflictsPerMinute ?? 100;
    this.syncConflicts = new Alarm(this, 'SyncConflicts', {
      alarmName: `${prefix}-sync-conflicts`,
      alarmDescription: `More than ${conflictsPerMinute} sync conflicts resolved per minute, 3 minutes out of 5. Runbook: docs/deploy.md#alarms`,
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'SyncConflicts',
        dimensionsMap: { service: SERVICE_NAME },
        statistic: Stats.SUM,
        period: Duration.minutes(1),
      }),
      threshold: conflictsPerMinute,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const dlqNotEmpty = (alarmId: string, name: string, queue: IQueue, what: string) =>
      new Alarm(this, alarmId, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: `${what} Runbook: docs/deploy.md#alarms`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: fiveMinutes }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    if (props.serverWrites) {
      const maxAge = props.serverWriteMaxAge ?? Duration.minutes(5);
      this.serverWriteDeadLetters = dlqNotEmpty('ServerWriteDeadLetters', 'server-write-dlq-not-empty', props.serverWrites.deadLetterQueue, 'Server-side writes were refused (reason in the message attribute `reason`) or failed every receive.');
      this.serverWriteAge = new Alarm(this, 'ServerWriteAge', {
        alarmName: `${prefix}-server-write-queue-age`,
        alarmDescription: `The oldest server-side write has waited more than ${maxAge.toSeconds()} s in the ingress queue. Runbook: docs/deploy.md#alarms`,
        metric: props.serverWrites.queue.metricApproximateAgeOfOldestMessage({ statistic: Stats.MAXIMUM, period: Duration.minutes(1) }),
        threshold: maxAge.toSeconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.changeFeed) {
      const maxLag = props.changeFeedMaxLag ?? Duration.minutes(5);
      this.changeFeedDeadLetters = dlqNotEmpty('ChangeFeedDeadLetters', 'change-feed-dlq-not-empty', props.changeFeed.deadLetterQueue, 'Change-feed stream records failed every retry: their events were not published.');
      this.changeFeedLag = new Alarm(this, 'ChangeFeedLag', {
        alarmName: `${prefix}-change-feed-lag`,
        alarmDescription: `The change feed is more than ${maxLag.toSeconds()} s behind the table (stream IteratorAge). Runbook: docs/deploy.md#alarms`,
        metric: props.changeFeed.function.metric('IteratorAge', { statistic: Stats.MAXIMUM, period: Duration.minutes(1) }),
        threshold: maxLag.toMilliseconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    for (const alarm of this.all) {
      alarm.addAlarmAction(...(props.alarmActions ?? []));
      alarm.addOkAction(...(props.alarmActions ?? []));
    }
  }

  public get all(): Alarm[] {
    const optional = [this.serverWriteDeadLetters, this.serverWriteAge, this.changeFeedDeadLetters, this.changeFeedLag].filter((a): a is Alarm => a !== undefined);
    return [this.serverErrorRate, ...this.throttles.values(), this.deadLetters, this.syncConflicts, ...optional];
  }
}
