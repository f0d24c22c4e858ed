import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isSyncError, RetryLaterError } from '../core/errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string; headers: Record<string, string> };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return jsonText(statusCode, JSON.stringify(body), headers);
}

/** A JSON response whose body is serialised already (a pull's, see pullResponseJson). */
export function jsonText(statusCode: number, text: string, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: text };
}

export interface ErrorBody {
  error: { code: string; message: string; details: readonly unknown[] };
}

/**
 * The v1 error body and status. Typed errors expose their code, message and details; anything
 * else is a bare 500 whose body never echoes internals (an SDK message, a stack).
 */
export function errorBody(e: unknown): { statusCode: number; body: ErrorBody; headers: Record<string, string> } {
  if (!isSyncError(e)) return { statusCode: 500, body: { error: { code: 'internal_error', message: 'internal error', details: [] } }, headers: {} };
  const headers: Record<string, string> = {};
  if (e.statusCode === 503) headers['retry-after'] = '1';
  if (e instanceof RetryLaterError) headers['retry-after'] = String(e.retryAfterSeconds);
  const message = e.expose ? e.message : 'internal error';
  const details = e.expose ? e.details : [];
  return { statusCode: e.statusCode, body: { error: { code: e.code, message, details } }, headers };
}

export function errorResponse(e: unknown): HttpResponse {
  const { statusCode, body, headers } = errorBody(e);
  return json(statusCode, body, headers);
}
