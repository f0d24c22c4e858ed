/**
 * The sync stack: wires Data, CursorSecret, Files, Auth, Api, Processing and Alarms together and
 * publishes what a client and an operator need. No resource is configured here; each construct
 * owns its defaults. Handler rights come only from the `access` lists of lambdas/routes.ts,
 * through `accessBindings` (one binding per access kind).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EVENT_HANDLERS } from '../lambdas/routes.js';
import { accessBindings } from './access.js';
import { Alarms } from './alarms.js';
import { Api } from './api.js';
import { Auth } from './auth.js';
import { ChangeFeed } from './change-feed.js';
import { CursorSecret } from './cursor-secret.js';
import { Data } from './data.js';
import { Files } from './files.js';
import { DEFAULT_FIT_MAX_BYTES, Processing } from './processing.js';
import { ServerWrites } from './server-writes.js';
import type { StageContext } from './stage.js';

export interface SyncStackProps extends StackProps, StageContext {}

export class SyncStack extends Stack {
  public readonly data: Data;
  public readonly cursorSecret: CursorSecret;
  public readonly files: Files;
  public readonly auth: Auth;
  public readonly api: Api;
  public readonly processing: Processing;
  public readonly serverWrites: ServerWrites;
  public readonly changeFeed: ChangeFeed;
  public readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, props);
    const { stage } = props;
    this.data = new Data(this, 'Data', { stage });
    this.cursorSecret = new CursorSecret(this, 'CursorSecret');
    this.files = new Files(this, 'Files', { stage });
    this.auth = new Auth(this, 'Auth', { stage, existingIssuer: props.existingIssuer, sesFromEmail: props.sesFromEmail, sesRegion: props.sesRegion });

    // One limit for the presign policy (uploads-create) and the processor.
    const access = accessBindings(this, { fitMaxBytes: DEFAULT_FIT_MAX_BYTES });
    this.api = new Api(this, 'Api', { stage, authorizer: this.auth.authorizer, access });
    this.processing = new Processing(this, 'FitProcessing', {
      stage,
      bucket: this.files.uploads,
      access,
      handler: EVENT_HANDLERS.fitProcess,
      maxFileBytes: DEFAULT_FIT_MAX_BYTES,
    });

    this.serverWrites = new ServerWrites(this, 'ServerWrites', { stage, access });
    this.changeFeed = new ChangeFeed(this, 'ChangeFeed', { stage, table: this.data.table, access });

    const functions = new Map<string, IFunction>([
      ...this.api.functions,
      [EVENT_HANDLERS.fitProcess.handler, this.processing.function],
      [EVENT_HANDLERS.serverWriteQueue.handler, this.serverWrites.function],
      [EVENT_HANDLERS.changeFeed.handler, this.changeFeed.function],
    ]);
    this.alarms = new Alarms(this, 'Alarms', {
      httpStage: this.api.httpStage,
      functions,
      deadLetterQueue: this.processing.deadLetterQueue,
      serverWrites: { queue: this.serverWrites.queue, deadLetterQueue: this.serverWrites.deadLetterQueue },
      changeFeed: { function: this.changeFeed.function, deadLetterQueue: this.changeFeed.deadLetterQueue },
      alarmActions: props.alarmTopicArn ? [new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn))] : [],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the sync API (GET|POST <url>api/v1/sync)' });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    new CfnOutput(this, 'UploadsBucketName', { value: this.files.uploads.bucketName, description: 'FIT files and images (users/<sub>/…), reached through presigned URLs' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.processing.deadLetterQueue.queueUrl, description: 'FIT events that failed every retry (redrive after a fix)' });
    new CfnOutput(this, 'ServerWriteQueueUrl', { value: this.serverWrites.queue.queueUrl, description: 'SQS FIFO ingress of server-side writes (message group = user id); see docs/deploy.md' });
    new CfnOutput(this, 'ServerWriteQueueArn', { value: this.serverWrites.queue.queueArn, description: 'For the sqs:SendMessage grant of a sending service' });
    new CfnOutput(this, 'EventBusName', { value: this.changeFeed.bus.eventBusName, description: 'Change events of synced records (source runningcoach.sync); see docs/deploy.md' });
    new CfnOutput(this, 'EventBusArn', { value: this.changeFeed.bus.eventBusArn });
    if (this.auth.userPool && this.auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.auth.userPoolClient.userPoolClientId, description: 'App client of the mobile app (SRP sign-in)' });
    }
  }
}
