/**
 * Per-user stamps: a hybrid logical clock, strictly increasing per user and never behind the
 * wall clock in ms. Every write carries a stamp of a lease registered "in flight" together with a
 * journal of the records it will write; when the writer ends, its leases "settle" for the
 * index-lag window. A pull reports a timestamp below every lease still in flight, and reads the
 * records the recently settled leases journaled from the base table (the index may not show them
 * yet). The argument is in docs/sync-protocol.md ("Why a pull is exact").
 */

import type { JournalEntry } from './store.js';

/** A push's stamp that finished writing at `finishedAt` (ms). */
export interface SettlingStamp {
  readonly stamp: number;
  readonly finishedAt: number;
  /** The store's own key of the entry, when it has one (to remove it). */
  readonly key?: string;
  /** The lease's id, which names its journal; entries written before leases have none. */
  readonly leaseId?: string;
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
  /** Small journals of settled leases, copied onto the clock item, by lease id. */
  readonly journals?: ReadonlyMap<string, readonly JournalEntry[]>;
  /**
   * Settled leases whose journal is too large to be copied onto the clock item, and whose writer
   * wrote its records at versions running on one by one in the journal's order (as a push does):
   * the first version, by lease id. The i-th record `readJournals` lists for such a lease was
   * written at that version + i.
   */
  readonly journalVersionRuns?: ReadonlyMap<string, number>;
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
 * The highest timestamp a pull may report: below every live lease (its writes may still be
 * landing), else the clock. Every write stamped at or below it has committed.
 */
export function committedThrough(state: ClockState, nowMs: number, policy: ClockPolicy): number {
  const live = state.inflight.filter((s) => !isExpired(s, nowMs, policy.inflightExpiryMs));
  return live.length > 0 ? Math.min(...live) - 1 : state.clock;
}

/**
 * Leases that finished less than `indexLagMs` ago with a stamp at or below `upTo`: the delta index
 * may not show all of their writes yet, so a pull reads what they journaled.
 */
export function recentlySettled(state: ClockState, nowMs: number, policy: ClockPolicy, upTo: number): SettlingStamp[] {
  return state.settling.filter((s) => s.finishedAt > nowMs - policy.indexLagMs && s.stamp <= upTo);
}

/**
 * Pins a pull: its `timestamp`, and the leases whose journals it reads. A recent lease without a
 * journal (written before journals, or by a writer that kept none) cannot be read exactly, so the
 * timestamp stays below it, as the index-lag watermark did: its writes come in a later pull.
 */
export function pinPull(upTo: number, recent: readonly SettlingStamp[], journaled: (leaseId: string) => boolean): { timestamp: number; journalLeases: string[] } {
  let timestamp = upTo;
  for (const s of recent) if (s.leaseId === undefined || !journaled(s.leaseId)) timestamp = Math.min(timestamp, s.stamp - 1);
  const journalLeases = recent.filter((s) => s.leaseId !== undefined && s.stamp <= timestamp && journaled(s.leaseId)).map((s) => s.leaseId as string);
  // WatermelonDB rejects a zero timestamp; 1 is below every real stamp, so it is safe.
  return { timestamp: Math.max(timestamp, 1), journalLeases: [...new Set(journalLeases)] };
}
