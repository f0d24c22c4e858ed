import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from '../core/errors.js';

/** The caller's user id: the verified token's `sub` claim, and nothing else. */
export function userIdOf(event: APIGatewayProxyEventV2): string {
  const ctx = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown> } };
  };
  const sub = ctx.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthorizedError('missing or invalid token');
  return sub;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses a JSON body strictly: no prototype keys. JSON, `text/plain` (what `fetch` sends for a
 * string body, as in WatermelonDB's documented snippet) or no content type are accepted.
 */
export function jsonBody(event: APIGatewayProxyEventV2): unknown {
  const contentType = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  if (contentType && !/^(application\/([\w.+-]*\+)?json|text\/plain)\b/i.test(contentType.trim())) {
    throw new UnsupportedMediaTypeError(`content-type must be application/json, not '${contentType}'`);
  }
  if (!event.body) throw new ValidationError('request body is required', [{ path: '', message: 'missing body' }]);
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError(`forbidden key '${key}'`);
      return value;
    });
  } catch (e) {
    throw new ValidationError('request body is not valid JSON', [{ path: '', message: (e as Error).message }]);
  }
}

export function queryOf(event: APIGatewayProxyEventV2): Record<string, string | undefined> {
  return { ...(event.queryStringParameters ?? {}) };
}
