/**
 * DELETE /api/v1/account — erases everything of the caller, in bounded rounds: each request
 * deletes at most ERASE_ITEMS_PER_REQUEST items and ERASE_OBJECTS_PER_REQUEST objects and answers
 * `complete: false` while anything remains (repeat the request); idempotent.
 */
import { eraseAccount } from '../core/account.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';
import { accountErasureStoreOf, accountObjectsOf } from '../uploads-runtime.js';

/** Bounds one request well inside the Lambda timeout (a 25-item batch write or one delete per object is a few ms each). */
export const ERASE_ITEMS_PER_REQUEST = 2_000;
export const ERASE_OBJECTS_PER_REQUEST = 500;

export function createAccountEraseHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const result = await eraseAccount(userId, { items: accountErasureStoreOf(rt), objects: accountObjectsOf(rt) }, { maxItems: ERASE_ITEMS_PER_REQUEST, maxObjects: ERASE_OBJECTS_PER_REQUEST });
    rt.logger.info('account erasure round', { deleted_items: result.deletedItems, deleted_objects: result.deletedObjects, complete: result.complete });
    return json(200, { complete: result.complete, deleted_items: result.deletedItems, deleted_objects: result.deletedObjects });
  });
}

export const handler = lazyHandler(async () => createAccountEraseHandler(await lambdaRuntime()));
