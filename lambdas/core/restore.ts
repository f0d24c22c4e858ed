/**
 * `POST /api/v1/conflicts/{id}/restore`: writes a conflict's losing values back as a new,
 * ordinary change by the user (a new stamp, so it syncs to every device). A losing delete is
 * restored by deleting. Restoring twice changes nothing the second time.
 */
import { NotFoundError } from './errors.js';
import type { ConflictEntry } from './conflict-log.js';
import { CONFLICT_ID_PATTERN } from './conflict-log.js';
import { applyServerWrite, type ServerWriteDeps, type ServerWriteResult } from './server-write.js';

export async function restoreConflict(userId: string, id: string, deps: ServerWriteDeps): Promise<{ entry: ConflictEntry; result: ServerWriteResult }> {
  const entry = CONFLICT_ID_PATTERN.test(id) ? await deps.store.getConflict(userId, id) : undefined;
  if (!entry) throw new NotFoundError(`no conflict '${id}'`, [{ path: 'id', field: 'id', message: 'no such conflict in your log (entries expire)' }]);
  const values = entry.losing_action === 'delete' ? 'delete' : entry.losing;
  const result = await applyServerWrite(userId, { source: 'restore', table: entry.table, id: entry.record_id, values }, deps);
  return { entry, result };
}
