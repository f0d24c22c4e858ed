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
