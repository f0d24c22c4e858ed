import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isSyncError, ThrottledError } from '../core/errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string; headers: Record<string, string> };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/**
 * The v1 error body. Typed errors expose their code, message and details; anything else is a
 * bare 500 whose body never echoes internals (an SDK message, a stack).
 */
export function errorResponse(e: unknown): HttpResponse {
  if (isSyncError(e)) {
    const headers: Record<string, string> = e instanceof ThrottledError ? { 'retry-after': String(e.retryAfterSeconds) } : {};
    if (e.statusCode === 503) headers['retry-after'] = '1';
    const message = e.expose ? e.message : 'internal error';
    const details = e.expose ? e.details : [];
    return json(e.statusCode, { error: { code: e.code, message, details } }, headers);
  }
  return json(500, { error: { code: 'internal_error', message: 'internal error', details: [] } });
}
