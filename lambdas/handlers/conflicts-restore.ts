/** POST /api/v1/conflicts/{id}/restore — writes a conflict's losing values back as a new change. */
import { restoreConflict } from '../core/restore.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export function createConflictsRestoreHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const id = event.pathParameters?.id ?? '';
    const { entry, result } = await restoreConflict(userId, id, { store: rt.store, now: rt.now, config: rt.config.push });
    rt.logger.info('conflict restored', { conflict_id: entry.id, table: entry.table, record_id: entry.record_id, action: result.action });
    return json(200, { conflict: entry, action: result.action, ...(result.version !== undefined ? { version: result.version } : {}) });
  });
}

export const handler = lazyHandler(async () => createConflictsRestoreHandler(await lambdaRuntime()));
