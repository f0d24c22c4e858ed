/** Api and Auth as wired by the stack: routes, authorizer, functions, stage, both auth modes. */
import { readFileSync } from 'node:fs';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../lambdas/routes.js';
import { Api } from '../../lib/api.js';
import { SyncStack, type SyncStackProps } from '../../lib/stack.js';

const flags = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;
const fastApp = () => new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });

function synth(props: Partial<SyncStackProps> = {}) {
  const stack = new SyncStack(fastApp(), 'ApiTest', { stage: 'dev', ...props });
  return { stack, template: Template.fromStack(stack) };
}
type Resource = { Properties: Record<string, unknown>; DeletionPolicy?: string };
const resources = (t: Template, type: string) => Object.entries(t.findResources(type) as Record<string, Resource>);

describe('Api routes', () => {
  const { stack, template } = synth();
  const routes = resources(template, 'AWS::ApiGatewayV2::Route');
  const [authorizerId] = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'));

  it('has exactly the routes of API_ROUTES, and no /local route', () => {
    const keys = routes.map(([, r]) => r.Properties.RouteKey).sort();
    expect(keys).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(keys.filter((k) => String(k).includes('/local'))).toEqual([]);
  });

  it('puts the one JWT authorizer on every route', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    for (const [, route] of routes) {
      expect(route.Properties).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    }
  });

  it('sends each route to the function built from its handler module', () => {
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Resource>;
    for (const def of API_ROUTES) {
      const [, route] = routes.find(([, r]) => r.Properties.RouteKey === `${def.method} ${def.path}`)!;
      const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"([^"]+)"/)![1]!;
      const fn = stack.api.functions.get(def.handler)!;
      expect(integrations[integrationId]!.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(fn.node.defaultChild as CfnElement), 'Arn'] });
    }
  });

  it('refuses a local-only route even when handed one', () => {
    const stack = new Stack(fastApp(), 'Local');
    const authorizer = new HttpJwtAuthorizer('Jwt', 'https://issuer.example.com', { jwtAudience: ['app'] });
    const routes = [...API_ROUTES, { method: 'POST' as const, path: '/local/token', handler: 'sync-pull' }];
    expect(() => new Api(stack, 'Api', { stage: 'dev', authorizer, environment: {}, routes })).toThrow(/\/local\/token/);
  });

  it('has no CORS configuration (mobile clients)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', CorsConfiguration: Match.absent() });
  });
});

describe('Api stage', () => {
  const { template } = synth();

  it('is the auto-deployed $default stage with throttling and JSON access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }, Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });
});

describe('Api functions', () => {
  const { stack, template } = synth();
  const functions = resources(template, 'AWS::Lambda::Function');

  it('one per handler module, on nodejs22.x and arm64', () => {
    expect(functions).toHaveLength(new Set(API_ROUTES.map((r) => r.handler)).size);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    }
  });

  it('get the table, the cursor secret ARN, the service name and source maps through their environment', () => {
    const tableId = stack.getLogicalId(stack.data.table.node.defaultChild as CfnElement);
    const secretId = stack.getLogicalId(stack.cursorSecret.secret.node.defaultChild as CfnElement);
    for (const [, fn] of functions) {
      expect(fn.Properties.Environment).toEqual({
        Variables: {
          TABLE_NAME: { Ref: tableId },
          CURSOR_SECRET_ARN: { Ref: secretId },
          POWERTOOLS_SERVICE_NAME: 'runningcoach-sync',
          NODE_OPTIONS: '--enable-source-maps',
        },
      });
    }
  });

  it('log to their own log group, which has a retention', () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
    for (const [, fn] of functions) {
      const { LogGroup } = (fn.Properties.LoggingConfig ?? {}) as { LogGroup?: { Ref: string } };
      expect(logGroups[LogGroup!.Ref]!.Properties.RetentionInDays).toBeGreaterThan(0);
    }
    for (const group of Object.values(logGroups)) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('a secret is created with a generated 48-character value', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 48 }),
      SecretString: Match.absent(),
    });
  });
});

describe('Auth', () => {
  it('default: creates a user pool and a public mobile client, and trusts them', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_SRP_AUTH']),
      PreventUserExistenceErrors: 'ENABLED',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: {
        Issuer: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^https://cognito-idp\\.')])] },
        Audience: [{ Ref: Match.stringLikeRegexp('^AuthUserPoolMobileClient') }],
      },
    });
    expect(Object.keys(template.toJSON().Outputs)).toEqual(expect.arrayContaining(['ApiUrl', 'UserPoolId', 'UserPoolClientId', 'TableName']));
  });

  it('existing issuer: no user pool, the authorizer trusts the given issuer and audience', () => {
    const { template } = synth({ existingIssuer: { issuer: 'https://login.example.com/', audience: ['ios', 'android'] } });
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.example.com/', Audience: ['ios', 'android'] },
    });
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(expect.arrayContaining(['ApiUrl', 'TableName']));
    expect(outputs).not.toContain('UserPoolId');
  });
});
