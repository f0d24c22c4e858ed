/** GET /api/v1/conflicts?since=<ms> — the caller's conflict log, oldest first. */
import { listCursor, parseListQuery } from '../core/conflict-log.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { queryOf, userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export function createConflictsListHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const { entries, next } = await rt.store.listConflicts(userId, parseListQuery(queryOf(event)));
    return json(200, { conflicts: entries, ...(next ? { cursor: listCursor(next) } : {}) });
  });
}

export const handler = lazyHandler(async () => createConflictsListHandler(await lambdaRuntime()));
