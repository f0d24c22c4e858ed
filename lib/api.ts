/**
 * Api: the HTTP API (v2) of contract v1. One route per API_ROUTES entry and one Lambda per handler
 * module, a JWT authorizer on every route, stage throttling and JSON access logs. Each function
 * gets exactly the grants and environment its route's `access` list declares (see access.ts).
 * CORS stays off (the clients are mobile apps, not browsers). The local-only routes (`/local/*`, e.g. the dev token issuer)
 * belong to the local server: this construct creates exactly the routes it is given and refuses
 * those.
 *
 * Payload limits: HTTP API accepts request bodies up to 10 MB, but a Lambda integration caps
 * request and response payloads at 6 MB (the pull handler pages its responses under
 * PULL_PAGE_BYTES). The integration times out after 30 s at most.
 */
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_ROUTES, type HandlerDef, type RouteDef } from '../lambdas/routes.js';
import { environmentFor, grantAccess, type AccessBindings } from './access.js';
import { HandlerFunction } from './handler-function.js';
import { apiHandlerMemoryMb } from './handler-sizing.js';
import { removalPolicyFor, type Stage } from './stage.js';

export interface ApiProps {
  readonly stage: Stage;
  /** The authorizer put on every route (and as the API's default). */
  readonly authorizer: IHttpRouteAuthorizer;
  /** How each access kind a route declares is granted, and the variables it brings (TABLE_NAME, …). */
  readonly access: AccessBindings;
  /** Environment of every handler on top of its access variables (tuning variables). @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default API_ROUTES */
  readonly routes?: readonly RouteDef[];
  /**
   * Steady-state requests per second and burst of the stage, over all clients.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Retention of the access log and of each handler's log. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class Api extends Construct {
  public readonly httpApi: HttpApi;
  public readonly httpStage: HttpStage;
  public readonly accessLogs: LogGroup;
  /** One function per handler module, keyed by module name (`sync-pull`, `sync-push`). */
  public readonly functions: ReadonlyMap<string, NodejsFunction>;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const routes = props.routes ?? API_ROUTES;
    const localOnly = routes.filter((r) => /^\/local(\/|$)/.test(r.path));
    if (localOnly.length > 0) throw new Error(`local-only routes must not be deployed: ${localOnly.map((r) => r.path).join(', ')}`);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const defs = handlerDefs(routes);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: `RunningCoach sync API (${props.stage})`,
      createDefaultStage: false,
      defaultAuthorizer: props.authorizer,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy: removalPolicyFor(props.stage) });
    this.httpStage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogs), format: ACCESS_LOG_FORMAT },
    });

    const functions = new Map<string, NodejsFunction>();
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of routes) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        const def = defs.get(route.handler)!;
        const fn = new HandlerFunction(this, pascal(route.handler), {
          stage: props.stage,
          handler: route.handler,
          // The push is CPU-bound on large requests (lib/handler-sizing.ts, measured by the bench).
          memorySize: apiHandlerMemoryMb(route.handler),
          environment: environmentFor(def, props.access, props.environment),
          logRetention,
        }).function;
        grantAccess(fn, def, props.access);
        integration = new HttpLambdaIntegration(`${pascal(route.handler)}Integration`, fn);
        functions.set(route.handler, fn);
        integrations.set(route.handler, integration);
      }
      this.httpApi.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration, authorizer: props.authorizer });
    }
    this.functions = functions;
  }

  /** Invoke URL of the default stage (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  public get url(): string {
    return this.httpStage.url;
  }
}

/**
 * One access list per handler module: routes sharing a module must declare the same access, since
 * they share one function and one role (a mismatch would silently widen or narrow one route).
 */
function handlerDefs(routes: readonly RouteDef[]): Map<string, HandlerDef> {
  const defs = new Map<string, HandlerDef>();
  const key = (access: RouteDef['access']) => [...new Set(access)].sort().join(',');
  for (const route of routes) {
    const seen = defs.get(route.handler);
    if (!seen) defs.set(route.handler, { handler: route.handler, access: route.access });
    else if (key(seen.access) !== key(route.access)) {
      throw new Error(`handler ${route.handler} is declared with access [${key(seen.access)}] and [${key(route.access)}] on different routes`);
    }
  }
  return defs;
}

/** One JSON object per request; `requestId` is required by API Gateway. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    userSub: '$context.authorizer.claims.sub',
  }),
);

const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_m, _d: string, c: string) => c.toUpperCase());
