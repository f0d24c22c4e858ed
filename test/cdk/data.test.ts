/** Data construct: the table matches TABLE_KEYS, is protected per stage, and grantSync is exact. */
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { TABLE_KEYS } from '../../lambdas/adapters/dynamo/keys.js';
import { Data, SYNC_TABLE_ACTIONS } from '../../lib/data.js';
import type { Stage } from '../../lib/stage.js';
import { fastApp } from './support.js';


function dataStack(stage: Stage) {
  const app = fastApp();
  const stack = new Stack(app, 'DataTest');
  const data = new Data(stack, 'Data', { stage });
  const role = new Role(stack, 'Handler', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  data.grantSync(role);
  return { stack, data, template: Template.fromStack(stack) };
}

describe('Data', () => {
  const { stack, data, template } = dataStack('dev');
  const tableId = stack.getLogicalId(data.table.node.defaultChild as CfnElement);

  it('builds the table, the updated_at index, the live index and the started_at index (keys only) from TABLE_KEYS', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'updated_at', AttributeType: 'N' },
        { AttributeName: 'live_at', AttributeType: 'N' },
        { AttributeName: 'started_at', AttributeType: 'N' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE_KEYS.index.name,
          KeySchema: [
            { AttributeName: TABLE_KEYS.index.partitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE_KEYS.index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: TABLE_KEYS.liveIndex.name,
          KeySchema: [
            { AttributeName: TABLE_KEYS.liveIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE_KEYS.liveIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: TABLE_KEYS.startedAtIndex.name,
          KeySchema: [
            { AttributeName: TABLE_KEYS.startedAtIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE_KEYS.startedAtIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
    expect(data.updatedAtIndexName).toBe('by_updated_at');
  });

  it('is on-demand, with point-in-time recovery and the TTL attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
    });
  });

  it('dev: destroyed with the stack, no deletion protection', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('prod: retained and deletion-protected', () => {
    dataStack('prod').template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });

  it('grantSync: the sync actions on the table, Query on the delta and live indexes, by exact ARN', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    const actionsOn = (resource: unknown) =>
      statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(resource)).flatMap((s) => [s.Action].flat()).sort();
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
    const indexArn = { 'Fn::Join': ['', [tableArn, '/index/by_updated_at']] };
    const liveIndexArn = { 'Fn::Join': ['', [tableArn, '/index/live_by_updated_at']] };
    expect(actionsOn(tableArn)).toEqual([...SYNC_TABLE_ACTIONS].sort());
    const indexStatement = statements.find((s) => JSON.stringify(s.Resource) === JSON.stringify([indexArn, liveIndexArn]));
    expect([indexStatement?.Action].flat()).toEqual(['dynamodb:Query']);
    expect(statements).toHaveLength(2);
  });
});
