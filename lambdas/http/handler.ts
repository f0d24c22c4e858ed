import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Runtime } from '../runtime.js';
import { httpErrorMapper } from './middleware.js';
import type { HttpResponse } from './response.js';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResponse>;
type Route = (event: APIGatewayProxyEventV2, rt: Runtime) => Promise<HttpResponse>;

/** The middleware chain every HTTP handler shares: error mapper outermost, then logging, then metrics. */
export function httpHandler(rt: Runtime, route: Route): HttpHandler {
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(httpErrorMapper(rt.logger))
    .use(injectLambdaContext(rt.logger, { resetKeys: true }))
    .use(logMetrics(rt.metrics))
    .handler((event) => route(event, rt)) as unknown as HttpHandler;
}

/** A Lambda entry point that builds its handler (and AWS clients) on first invocation only. */
export function lazyHandler(build: () => Promise<HttpHandler>): HttpHandler {
  let built: Promise<HttpHandler> | undefined;
  return async (event, context) => {
    built ??= build();
    return (await built)(event, context);
  };
}
