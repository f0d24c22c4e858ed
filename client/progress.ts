/**
 * Progress of one sync, for a progress bar on a first sync (which brings the whole account down
 * in many pages) and a "syncing…" label after.
 *
 * The total of a first sync is the server's estimate (`estimated_records` on its first page: a
 * per-user count every write keeps, at no extra request); a delta pull has no total. The progress
 * always says what has arrived (pages, records, bytes).
 */
export type SyncPhase = 'pulling' | 'applying' | 'pushing' | 'done';

export interface SyncProgress {
  /**
   * `pulling` (before the first page and after each page), `applying` (the pull is complete and
   * WatermelonDB writes it), `pushing` (before each push request and once all are accepted),
   * `done` (the sync finished; reported by `synchronizeWithServer` only).
   */
  readonly phase: SyncPhase;
  /** No sync had completed on this device before: the whole account comes down. */
  readonly firstSync: boolean;
  /** Pull pages received so far. */
  readonly pages: number;
  /** Records received so far: live records and deleted ids, over all tables and pages. */
  readonly records: number;
  /**
   * First sync only, when the server estimates it: about how many records the whole pull brings
   * (`records / estimatedRecords` for a bar; it may end a little above or below 100 %).
   */
  readonly estimatedRecords?: number;
  /** UTF-8 bytes of the pull pages received so far. */
  readonly bytes: number;
  /** Records (created, updated, deleted) of the local changes accepted by the server so far. */
  readonly pushedRecords: number;
  /** Records of the local changes this sync pushes (known once the push starts; 0 before). */
  readonly recordsToPush: number;
}

export type SyncProgressListener = (progress: SyncProgress) => void;

/** Accumulates one sync's progress and reports each step to the listener. */
export interface ProgressTracker {
  update(change: Partial<SyncProgress>): void;
  readonly current: SyncProgress;
}

export function createProgressTracker(listener: SyncProgressListener | undefined, firstSync = false): ProgressTracker {
  let current: SyncProgress = { phase: 'pulling', firstSync, pages: 0, records: 0, bytes: 0, pushedRecords: 0, recordsToPush: 0 };
  return {
    update(change) {
      current = { ...current, ...change };
      listener?.(current);
    },
    get current() {
      return current;
    },
  };
}
