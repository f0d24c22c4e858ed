/**
 * Per-user stamps: a hybrid logical clock, strictly increasing per user and never behind the
 * wall clock in ms. Every write of a push carries a stamp registered as "in flight"; when the push
 * ends its stamps "settle" for the index-lag window. A pull never reports a timestamp at or past
 * a stamp that is in flight or settling. The argument is in docs/sync-protocol.md.
 */

/** A push's stamp that finished writing at `finishedAt` (ms). */
export interface SettlingStamp {
  readonly stamp: number;
  readonly finishedAt: number;
  /** The store's own key of the entry, when it has one (to remove it). */
  readonly key?: string;
}

/** The clock item of one user as the store returns it (read consistently). */
export interface ClockState {
  /** Last stamp allocated to this user. */
  readonly clock: number;
  /** Stamps (lower bounds of them) of pushes that allocated but have not yet finished writing. */
  readonly inflight: readonly number[];
  /** Stamps of pushes that finished recently: their writes may not be in the index yet. */
  readonly settling: readonly SettlingStamp[];
  /**
   * Approximately how many live records the user has (creates and resurrections minus deletes,
   * counted as writes complete); absent where the store keeps no count (users from before it).
   */
  readonly liveRecords?: number;
}

export interface ClockPolicy {
  /** An in-flight entry older than this belongs to a push that died. */
  readonly inflightExpiryMs: number;
  /** How long after a write commits the delta index may still miss it (GSI lag bound). */
  readonly indexLagMs: number;
}

/** Extra age before settled entries are removed, absorbing clock skew between instances. */
export const SETTLED_CLEANUP_MARGIN_MS = 5_000;

/** The next stamp: past the last one, and not behind the wall clock. */
export function nextStamp(clock: number, nowMs: number): number {
  return Math.max(clock + 1, Math.floor(nowMs));
}

/**
 * In-flight entries older than this are pushes that died (Lambda timeout, crash): they write
 * nothing more, because a push stops writing once its write window has passed.
 */
export function isExpired(stamp: number, nowMs: number, inflightExpiryMs: number): boolean {
  return stamp < nowMs - inflightExpiryMs;
}

/** Settling entries that no pull needs any more (safe to remove from the clock item). */
export function settledLongAgo(settling: readonly SettlingStamp[], nowMs: number, policy: ClockPolicy): SettlingStamp[] {
  return settling.filter((s) => s.finishedAt < nowMs - policy.indexLagMs - SETTLED_CLEANUP_MARGIN_MS);
}

/**
 * The timestamp a pull reports: every write stamped at or below it committed at least
 * `indexLagMs` ago, so the delta index shows it. A live in-flight or settling push holds the
 * watermark just below its stamp; the next pull starts there and reads that push's writes.
 */
export function pullWatermark(state: ClockState, nowMs: number, policy: ClockPolicy): number {
  const holding = [
    ...state.inflight.filter((s) => !isExpired(s, nowMs, policy.inflightExpiryMs)),
    ...state.settling.filter((s) => s.finishedAt > nowMs - policy.indexLagMs).map((s) => s.stamp),
  ];
  const watermark = holding.length > 0 ? Math.min(...holding) - 1 : state.clock;
  // WatermelonDB rejects a zero timestamp; 1 is below every real stamp, so it is safe.
  return Math.max(watermark, 1);
}
