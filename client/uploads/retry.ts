/**
 * When to try a failed upload again: exponential backoff with jitter, capped, and the point at
 * which the queue gives up. Pure functions over numbers (the queue injects clock and randomness).
 */

export interface RetryPolicy {
  /** Delay ceiling after the first failure; doubles per failure. */
  readonly baseDelayMs: number;
  /** The ceiling never grows past this. */
  readonly maxDelayMs: number;
  /**
   * Failures the server answered (5xx, 429, an unreadable answer, an unreadable file) after which
   * the job fails for good. Network failures and an expired sign-in never count: a phone that is
   * offline for a week says nothing about the file, and its job waits for the network.
   */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ baseDelayMs: 2_000, maxDelayMs: 30 * 60_000, maxAttempts: 10 });

/** A `Retry-After` beyond this is treated as this (a misconfigured proxy must not park a job for weeks). */
export const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/**
 * Delay before the next attempt after `failures` consecutive failures (≥ 1): "equal jitter",
 * half the ceiling plus a random half, so devices that failed together do not retry together
 * and no retry comes immediately. A server's `Retry-After` is a floor.
 */
export function retryDelayMs(failures: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 60);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  // Only the known fields; an explicit `undefined` means the default, anything else is checked.
  const pick = (name: keyof RetryPolicy) => (overrides[name] === undefined ? DEFAULT_RETRY_POLICY[name] : overrides[name]);
  const policy: RetryPolicy = { baseDelayMs: pick('baseDelayMs'), maxDelayMs: pick('maxDelayMs'), maxAttempts: pick('maxAttempts') };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`createUploadQueue: retry.${name} must be a positive integer, got ${String(value)}`);
  }
  if (policy.maxDelayMs < policy.baseDelayMs) throw new TypeError('createUploadQueue: retry.maxDelayMs must be at least retry.baseDelayMs');
  return Object.freeze(policy);
}
