/**
 * The sync stack: wires Data, CursorSecret, Auth and Api together and publishes what a client
 * and an operator need. No resource is configured here; each construct owns its defaults.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Api } from './api.js';
import { Auth } from './auth.js';
import { CursorSecret } from './cursor-secret.js';
import { Data } from './data.js';
import type { StageContext } from './stage.js';

export interface SyncStackProps extends StackProps, StageContext {}

export class SyncStack extends Stack {
  public readonly data: Data;
  public readonly cursorSecret: CursorSecret;
  public readonly auth: Auth;
  public readonly api: Api;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, props);
    const { stage } = props;
    this.data = new Data(this, 'Data', { stage });
    this.cursorSecret = new CursorSecret(this, 'CursorSecret');
    this.auth = new Auth(this, 'Auth', { stage, existingIssuer: props.existingIssuer });
    // Variable names as read by lambdas/config.ts.
    this.api = new Api(this, 'Api', {
      stage,
      authorizer: this.auth.authorizer,
      environment: { TABLE_NAME: this.data.table.tableName, CURSOR_SECRET_ARN: this.cursorSecret.secretArn },
    });
    for (const fn of this.api.functions.values()) {
      this.data.grantSync(fn);
      this.cursorSecret.grantSign(fn);
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the sync API (GET|POST <url>api/v1/sync)' });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    if (this.auth.userPool && this.auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.auth.userPoolClient.userPoolClientId, description: 'App client of the mobile app (SRP sign-in)' });
    }
  }
}
