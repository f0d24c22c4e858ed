import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ThrottledError } from '../../core/errors.js';

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);

/** Translates SDK exceptions at the boundary: throttling becomes a typed, retryable 429. */
export function translateSdkError(e: unknown): unknown {
  if (e instanceof Error && THROTTLING.has(e.name)) return new ThrottledError('the data store is busy; retry shortly', 1, { cause: e });
  return e;
}

export function isConditionalCheckFailed(e: unknown): boolean {
  return e instanceof Error && e.name === 'ConditionalCheckFailedException';
}

/**
 * The item a failed conditional write returned (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`),
 * as plain values; undefined when the engine returned none (dynalite never does; DynamoDB omits it
 * when no item exists). DynamoDB puts it on the exception in wire form (`{updated_at: {N: "5"}}`)
 * and the document client does not unmarshall exception payloads (aws-sdk-js-v3 #5045, #6723).
 */
export function conditionFailedItem(e: unknown): Record<string, unknown> | undefined {
  const item = (e as { Item?: Record<string, AttributeValue> }).Item;
  if (!item || typeof item !== 'object' || Object.keys(item).length === 0) return undefined;
  return unmarshall(item) as Record<string, unknown>;
}
