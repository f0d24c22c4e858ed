/**
 * CDK app: `npx cdk synth|deploy -c stage=dev|prod` (default dev), optionally
 * `-c jwtIssuer=https://… -c jwtAudience=clientA,clientB` to trust an existing issuer instead of
 * creating a user pool, and `-c alarmTopicArn=arn:aws:sns:…` to send every alarm to an existing
 * SNS topic. See docs/deploy.md. cdk-nag's AwsSolutions checks run on every synth; a finding fails it
 * unless acknowledged, with a reason, next to its resource.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SyncStack } from '../lib/stack.js';
import { readStageContext } from '../lib/stage.js';

const app = new App();
const context = readStageContext(app.node);
// Environment-agnostic on purpose (no `env`): account and region come from the credentials at
// deploy time, so a template synthesized offline (CI) is not bound to the builder's region.
const stack = new SyncStack(app, `RunningCoachSync-${context.stage}`, {
  ...context,
  description: `RunningCoach offline-first sync backend (${context.stage})`,
});
Tags.of(stack).add('app', 'runningcoach-sync');
Tags.of(stack).add('stage', context.stage);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
