/**
 * Memory and timeout of the API's handler functions, in a module of plain numbers so that the
 * bench (which prints the 3 MB push estimate against them) reads the deployed values without
 * loading the CDK.
 */

/**
 * Timeout of every API handler (and the `HandlerFunction` default): above MAX_PUSH_MS (20 s), below
 * the HTTP API's 30 s integration timeout.
 */
export const API_HANDLER_TIMEOUT_S = 29;

/**
 * Memory of every API handler but the push (and the `HandlerFunction` default): their work is
 * mostly waiting for DynamoDB or S3, billed per MB.
 */
export const API_HANDLER_MEMORY_MB = 512;

/**
 * Memory of `sync-push`, chosen from `npm run bench` (issue 16): a push's CPU is almost all AWS SDK
 * and HTTP per conditional write (two per created record of a global-id table), 1.2–1.8 ms per
 * record on the bench machine, and Lambda's CPU share is proportional to memory (1 vCPU at
 * 1,769 MB). A 3 MB request (~1,600 activities) then needs 6.6–10.1 s at 512 MB (0.29 vCPU), against
 * a third of the 29 s timeout (9.7 s): no margin; 3.3–5.1 s at 1,024 MB. The CPU-bound part costs the same
 * GB-seconds at either size; what 1,024 MB adds is the waiting for DynamoDB billed at twice the
 * rate: ~+0.01 GB-s for a 10-record push, under 1 % of that push's DynamoDB write cost. Wall time stays
 * CPU-bound at PUSH_WRITE_CONCURRENCY 16: two ~5–10 ms DynamoDB round trips per record over 16
 * workers is ~1 ms per record, below the ~2 ms of CPU per record at this share.
 */
export const SYNC_PUSH_MEMORY_MB = 1024;

/** Memory of an API handler module by name. */
export function apiHandlerMemoryMb(handler: string): number {
  return handler === 'sync-push' ? SYNC_PUSH_MEMORY_MB : API_HANDLER_MEMORY_MB;
}
