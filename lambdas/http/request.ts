import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ForbiddenError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from '../core/errors.js';

/**
 * Longest user id (the token's `sub`, UTF-8) the service can key data by: it goes into DynamoDB
 * partition keys (2,048 bytes at most) and S3 object keys (1,024 bytes in all, with the upload's
 * own path). Identity providers' subjects are far shorter (Cognito: a 36-character UUID).
 */
export const MAX_USER_ID_BYTES = 256;

/** The caller's user id: the verified token's `sub` claim, and nothing else. */
export function userIdOf(event: APIGatewayProxyEventV2): string {
  const ctx = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown> } };
  };
  const sub = ctx.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthorizedError('missing or invalid token');
  // Refused before any key is built from it: past the key limits every call would fail in the store.
  if (Buffer.byteLength(sub, 'utf8') > MAX_USER_ID_BYTES) {
    throw new ForbiddenError("the token's subject cannot be used as a user id", [
      { path: 'token.sub', field: 'sub', message: `is longer than ${MAX_USER_ID_BYTES} bytes; this service keys every user's data by it` },
    ]);
  }
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
