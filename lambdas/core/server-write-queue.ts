/**
 * The server-write ingress in AWS: messages of an SQS FIFO queue (message group = the user, so one
 * user's writes apply in order; deduplication by the sender's id), each the body of
 * `POST /local/server-write` (one record or several), applied through `applyServerWrites`.
 *
 * - A message that can never apply (not JSON, invalid, a table its source may not write, an id of
 *   another user's record, a message group that is not its user) goes straight to the dead-letter
 *   queue with the reason, and counts as handled: it never blocks its user's later messages.
 * - A message that failed for a passing reason (contention, throttling, the store) is reported as
 *   a batch item failure, and so is every later message of its group in the batch (FIFO order:
 *   SQS hands them back together); other users' messages go on. After the queue's receive limit
 *   SQS moves it to the same dead-letter queue.
 */
import { isSyncError } from './errors.js';
import { applyServerWrites, parseServerWriteMessage, type ServerWriteDeps, type ServerWriteResult } from './server-write.js';
import { ValidationError } from './errors.js';

export interface QueuedMessage {
  readonly messageId: string;
  /** SQS MessageGroupId (FIFO). */
  readonly groupId: string | undefined;
  readonly body: string;
}

export interface DeadLetters {
  /** Sends the message, with why it can never apply, to the dead-letter queue. */
  send(message: QueuedMessage, reason: string): Promise<void>;
}

export interface QueueLog {
  warn(message: string, extra: Record<string, unknown>): void;
  info(message: string, extra: Record<string, unknown>): void;
}

export interface ConsumeDeps extends ServerWriteDeps {
  readonly deadLetters: DeadLetters;
  readonly log: QueueLog;
}

export type MessageOutcome =
  | { readonly messageId: string; readonly outcome: 'applied'; readonly results: readonly ServerWriteResult[] }
  | { readonly messageId: string; readonly outcome: 'dead-lettered'; readonly reason: string }
  | { readonly messageId: string; readonly outcome: 'retry'; readonly reason: string };

/** Handles a batch in order; answers each message's outcome (`retry` ones are the batch item failures). */
export async function consumeServerWrites(messages: readonly QueuedMessage[], deps: ConsumeDeps): Promise<MessageOutcome[]> {
  const blockedGroups = new Set<string>();
  const outcomes: MessageOutcome[] = [];
  for (const m of messages) {
    const group = m.groupId ?? '';
    if (blockedGroups.has(group)) {
      outcomes.push({ messageId: m.messageId, outcome: 'retry', reason: 'an earlier message of its group failed' });
      continue;
    }
    let outcome: MessageOutcome;
    try {
      const message = parseServerWriteMessage(parseJson(m.body));
      if (m.groupId !== undefined && m.groupId !== message.userId) {
        throw new ValidationError('invalid server write', [{ path: 'user_id', field: 'user_id', message: `the message group must be the user (group '${m.groupId}', user '${message.userId}'): one user's writes apply in order only within one group` }]);
      }
      const results = await applyServerWrites(message.userId, message.writes, deps);
      outcome = { messageId: m.messageId, outcome: 'applied', results };
      deps.log.info('server write applied', { messageId: m.messageId, userId: message.userId, source: message.source, actions: results.map((r) => r.action) });
    } catch (e) {
      if (isPermanent(e)) {
        const reason = describe(e);
        try {
          await deps.deadLetters.send(m, reason);
          outcome = { messageId: m.messageId, outcome: 'dead-lettered', reason };
          deps.log.warn('server write refused; sent to the dead-letter queue', { messageId: m.messageId, groupId: m.groupId, reason });
        } catch (sendError) {
          outcome = { messageId: m.messageId, outcome: 'retry', reason: `${reason}; sending it to the dead-letter queue failed: ${(sendError as Error).message}` };
        }
      } else {
        outcome = { messageId: m.messageId, outcome: 'retry', reason: describe(e) };
      }
      if (outcome.outcome === 'retry') {
        blockedGroups.add(group);
        deps.log.warn('server write failed; it will be retried', { messageId: m.messageId, groupId: m.groupId, reason: outcome.reason });
      }
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new ValidationError('message body is not valid JSON', [{ path: '', message: 'invalid JSON' }]);
  }
}

/** Refusals (4xx) never succeed on retry; throttling (429) and everything else may. */
function isPermanent(e: unknown): boolean {
  return isSyncError(e) && e.statusCode < 500 && e.statusCode !== 429;
}

function describe(e: unknown): string {
  if (!isSyncError(e)) return (e as Error)?.message ?? String(e);
  const details = e.details.map((d) => `${d.path}: ${d.message}`).join('; ');
  return `${e.code}: ${e.message}${details ? ` (${details})` : ''}`;
}
