/** Api and Auth as wired by the stack: routes, authorizer, functions, stage, both auth modes, access → grants and environment. */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { API_ROUTES, type Access, type RouteDef } from '../../lambdas/routes.js';
import type { AccessBindings } from '../../lib/access.js';
import { Api } from '../../lib/api.js';
import { fastApp, logicalId, resources, synthStack as synth, type Resource } from './support.js';
import { FIT_MAX_BYTES } from '../../lambdas/fit/limits.js';

const jwt = () => new HttpJwtAuthorizer('Jwt', 'https://issuer.example.com', { jwtAudience: ['app'] });

/** Bindings that record which grantee got which access, each kind bringing one variable of its own. */
function recordingBindings() {
  const granted: [IGrantable, Access][] = [];
  const binding = (access: Access, variable: string) => ({ environment: { [variable]: `${access}-value` }, grant: (g: IGrantable) => void granted.push([g, access]) });
  const bindings: AccessBindings = {
    table: binding('table', 'TABLE_NAME'),
    'cursor-secret': binding('cursor-secret', 'CURSOR_SECRET_ARN'),
    'uploads-put': binding('uploads-put', 'UPLOADS_BUCKET'),
    'uploads-get': binding('uploads-get', 'UPLOADS_BUCKET_GET'),
    'uploads-list': binding('uploads-list', 'UPLOADS_BUCKET_LIST'),
    'activities-by-start': binding('activities-by-start', 'TABLE_NAME_BY_START'),
    'table-erase': binding('table-erase', 'TABLE_NAME_ERASE'),
    'uploads-delete': binding('uploads-delete', 'UPLOADS_BUCKET_DELETE'),
    'exports-write': binding('exports-write', 'UPLOADS_BUCKET_EXPORTS_WRITE'),
    'exports-read': binding('exports-read', 'UPLOADS_BUCKET_EXPORTS_READ'),
    'exports-delete': binding('exports-delete', 'UPLOADS_BUCKET_EXPORTS_DELETE'),
  };
  return { bindings, granted };
}

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
      expect(integrations[integrationId]!.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [logicalId(stack, fn), 'Arn'] });
    }
  });

  it('refuses a local-only route even when handed one', () => {
    const stack = new Stack(fastApp(), 'Local');
    const routes = [...API_ROUTES, { method: 'POST' as const, path: '/local/token', handler: 'sync-pull', access: [] }];
    expect(() => new Api(stack, 'Api', { stage: 'dev', authorizer: jwt(), access: recordingBindings().bindings, routes })).toThrow(/\/local\/token/);
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
  const functions = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
  const apiFunctions = [...stack.api.functions].map(([name, fn]) => ({ name, props: functions[logicalId(stack, fn)]!.Properties }));

  it('one per handler module, on nodejs22.x and arm64', () => {
    expect(apiFunctions.map((f) => f.name).sort()).toEqual([...new Set(API_ROUTES.map((r) => r.handler))].sort());
    for (const { props } of apiFunctions) {
      expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    }
  });

  it('sync-push gets 1,024 MB (its CPU share for a 3 MB push, measured by the bench), every other handler 512 MB; all time out at 29 s', () => {
    for (const { name, props } of apiFunctions) {
      expect(props, name).toMatchObject({ MemorySize: name === 'sync-push' ? 1024 : 512, Timeout: 29 });
    }
    expect(apiFunctions.find((f) => f.name === 'sync-push')?.props.MemorySize).toBe(1024);
  });

  it('get the service name, source maps and exactly the variables of their access list', () => {
    const tableRef = { Ref: logicalId(stack, stack.data.table) };
    const secretRef = { Ref: logicalId(stack, stack.cursorSecret.secret) };
    const bucketRef = { Ref: logicalId(stack, stack.files.uploads) };
    const byAccess: Record<Access, Record<string, unknown>> = {
      table: { TABLE_NAME: tableRef },
      'cursor-secret': { CURSOR_SECRET_ARN: secretRef },
      'uploads-put': { UPLOADS_BUCKET: bucketRef, FIT_MAX_BYTES: String(FIT_MAX_BYTES) },
      'uploads-get': { UPLOADS_BUCKET: bucketRef },
      'uploads-list': { UPLOADS_BUCKET: bucketRef },
      'activities-by-start': { TABLE_NAME: tableRef },
      'table-erase': { TABLE_NAME: tableRef },
      'uploads-delete': { UPLOADS_BUCKET: bucketRef },
      'exports-write': { UPLOADS_BUCKET: bucketRef },
      'exports-read': { UPLOADS_BUCKET: bucketRef },
      'exports-delete': { UPLOADS_BUCKET: bucketRef },
    };
    for (const { name, props } of apiFunctions) {
      const def = API_ROUTES.find((r) => r.handler === name)!;
      const expected = Object.assign({ POWERTOOLS_SERVICE_NAME: 'runningcoach-sync', NODE_OPTIONS: '--enable-source-maps' }, ...def.access.map((a) => byAccess[a]));
      expect(props.Environment, name).toEqual({ Variables: expected });
    }
    // Today's sync handlers, spelled out.
    expect(functions[logicalId(stack, stack.api.functions.get('sync-pull')!)]!.Properties.Environment).toEqual({
      Variables: { TABLE_NAME: tableRef, CURSOR_SECRET_ARN: secretRef, POWERTOOLS_SERVICE_NAME: 'runningcoach-sync', NODE_OPTIONS: '--enable-source-maps' },
    });
  });

  it('log to their own log group, which has a retention', () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
    for (const { name, props } of apiFunctions) {
      const { LogGroup } = (props.LoggingConfig ?? {}) as { LogGroup?: { Ref: string } };
      expect(logGroups[LogGroup!.Ref]!.Properties.RetentionInDays, name).toBeGreaterThan(0);
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

describe('Api access wiring', () => {
  // Tomorrow's routes (uploads, conflicts) on today's modules: what matters is the access lists.
  const routes: RouteDef[] = [
    { method: 'POST', path: '/a', handler: 'sync-pull', access: ['table', 'cursor-secret', 'uploads-put'] },
    { method: 'GET', path: '/b', handler: 'sync-push', access: ['uploads-get'] },
    { method: 'GET', path: '/c', handler: 'conflicts-list', access: [] },
  ];

  it('grants each function exactly the access kinds of its routes, once each', () => {
    const { bindings, granted } = recordingBindings();
    const api = new Api(new Stack(fastApp(), 'Wiring'), 'Api', { stage: 'dev', authorizer: jwt(), access: bindings, routes });
    for (const route of routes) {
      const fn = api.functions.get(route.handler)!;
      expect(granted.filter(([g]) => g === fn).map(([, a]) => a), route.handler).toEqual(route.access);
    }
    expect(granted).toHaveLength(routes.flatMap((r) => r.access).length);
  });

  it('gives each function the variables of its access kinds on top of the common environment', () => {
    const { bindings } = recordingBindings();
    const stack = new Stack(fastApp(), 'WiringEnv');
    const api = new Api(stack, 'Api', { stage: 'dev', authorizer: jwt(), access: bindings, routes, environment: { PULL_PAGE_BYTES: '20000' } });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<string, Resource>;
    const env = (handler: string) => (functions[logicalId(stack, api.functions.get(handler)!)]!.Properties.Environment as { Variables: Record<string, string> }).Variables;
    const common = { POWERTOOLS_SERVICE_NAME: 'runningcoach-sync', NODE_OPTIONS: '--enable-source-maps', PULL_PAGE_BYTES: '20000' };
    expect(env('sync-pull')).toEqual({ ...common, TABLE_NAME: 'table-value', CURSOR_SECRET_ARN: 'cursor-secret-value', UPLOADS_BUCKET: 'uploads-put-value' });
    expect(env('sync-push')).toEqual({ ...common, UPLOADS_BUCKET_GET: 'uploads-get-value' });
    expect(env('conflicts-list')).toEqual(common);
  });

  it('refuses one handler module declared with different access lists on two routes', () => {
    const clash: RouteDef[] = [
      { method: 'GET', path: '/x', handler: 'sync-pull', access: ['table'] },
      { method: 'POST', path: '/x', handler: 'sync-pull', access: ['table', 'uploads-put'] },
    ];
    expect(() => new Api(new Stack(fastApp(), 'Clash'), 'Api', { stage: 'dev', authorizer: jwt(), access: recordingBindings().bindings, routes: clash })).toThrow(
      /sync-pull is declared with access \[table\] and \[table,uploads-put\]/,
    );
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
