/**
 * Per-user stamps: a hybrid logical clock, strictly increasing per user and never behind the
 * wall clock in ms. Every write of a push carries the stamp it allocated while registered as
 * "in flight"; a pull never reports a timestamp at or past the oldest write still in flight.
 * The argument is in docs/sync-protocol.md ("Why a pull never skips a change").
 */

/** The clock item of one user as the store returns it (read consistently). */
export interface ClockState {
  /** Last stamp allocated to this user. */
  readonly clock: number;
  /** Stamps of pushes that allocated but have not yet finished writing. */
  readonly inflight: readonly number[];
}

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

/**
 * The timestamp a pull reports: every write with a stamp at or below it has committed.
 * A live in-flight push holds the watermark just below its stamp.
 */
export function pullWatermark(state: ClockState, nowMs: number, inflightExpiryMs: number): number {
  const live = state.inflight.filter((s) => !isExpired(s, nowMs, inflightExpiryMs));
  const watermark = live.length > 0 ? Math.min(...live) - 1 : state.clock;
  // WatermelonDB rejects a zero timestamp; 1 is below every real stamp, so it is safe.
  return Math.max(watermark, 1);
}

/**
 * Lower bound of a delta query: re-deliver the index-lag window before `lastPulledAt`, so a
 * write the index had not yet shown to the previous pull is sent now. Re-delivery is harmless:
 * records come in `updated`, which WatermelonDB applies idempotently.
 */
export function deltaLowerBound(lastPulledAt: number, indexLagWindowMs: number): number {
  return Math.max(0, lastPulledAt - indexLagWindowMs);
}
