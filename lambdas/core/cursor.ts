/**
 * Opaque pull cursors. A cursor pins one pull (its timestamp, index range and the journals it
 * reads) and the position reached; it is MAC'd together with the user id, so a forged, altered or foreign cursor fails
 * verification and is a 400, never another user's data.
 */
import { InvalidCursorError } from './errors.js';
import type { IndexPosition } from './store.js';
import { isTableName } from './schema.js';

/** Signs cursors; the adapter implements it with an HMAC over a server secret. */
export interface CursorSigner {
  sign(message: string): string;
  verify(message: string, signature: string): boolean;
}

export interface CursorState {
  /** Fingerprint of the pull's parameters (last_pulled_at, schema_version, migration). */
  readonly pull: string;
  readonly timestamp: number;
  /** Exclusive lower bound of the index query. */
  readonly queryFrom: number;
  /** Inclusive upper bound of the index query, pinned by the first page. */
  readonly upTo: number;
  /** Last index item read; absent once the index part is done and the journaled part pages. */
  readonly position?: IndexPosition;
  readonly issuedAt: number;
  /** The pull is a replacement sync (pinned by its first page: the horizon moves while it pages). */
  readonly replacement?: boolean;
  /** Leases whose journaled records this pull reads from the base table (pinned by the first page). */
  readonly journal?: readonly string[];
  /** How many of the journaled records (in key order) earlier pages went through. */
  readonly journalOffset?: number;
}

/** 1: cursors issued before journals (index range only); still accepted while they live. */
const VERSION = 2;

function b64urlEncode(s: string): string {
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function b64urlDecode(s: string): string {
  return atob(s.replace(/-/g, '+').replace(/_/g, '/'));
}

export function encodeCursor(userId: string, state: CursorState, signer: CursorSigner): string {
  const p = state.position;
  const payload = b64urlEncode(
    JSON.stringify([
      VERSION,
      state.pull,
      state.timestamp,
      state.queryFrom,
      state.upTo,
      p?.table ?? null,
      p?.id ?? null,
      p?.updated_at ?? null,
      state.issuedAt,
      state.replacement ? 1 : 0,
      state.journal ?? [],
      state.journalOffset ?? null,
    ]),
  );
  return `${payload}.${signer.sign(`${userId}\n${payload}`)}`;
}

export function decodeCursor(
  userId: string,
  cursor: string,
  expected: { pull: string; nowMs: number; ttlMs: number },
  signer: CursorSigner,
): CursorState {
  const [payload, signature, extra] = cursor.split('.');
  if (!payload || !signature || extra !== undefined || !signer.verify(`${userId}\n${payload}`, signature)) {
    throw new InvalidCursorError('cursor is not valid for this user', [{ path: 'cursor', message: 'unknown, altered or foreign cursor' }]);
  }
  let fields: unknown;
  try {
    fields = JSON.parse(b64urlDecode(payload));
  } catch {
    fields = undefined;
  }
  const malformed = () => new InvalidCursorError('cursor is malformed', [{ path: 'cursor', message: 'malformed cursor' }]);
  // Version 1 had 9 fields (before replacement syncs) or 10; version 2 has 12.
  const legacy = Array.isArray(fields) && fields[0] === 1 && (fields.length === 9 || fields.length === 10);
  if (!Array.isArray(fields) || !(legacy || (fields[0] === VERSION && fields.length === 12))) throw malformed();
  const [, pull, timestamp, queryFrom, upTo, table, id, updatedAt, issuedAt, replacement, journal, journalOffset] = fields as [
    number, string, number, number, number, string | null, string | null, number | null, number, number | undefined, unknown, number | null | undefined,
  ];
  const position = table === null ? undefined : isTableName(table) && typeof id === 'string' && typeof updatedAt === 'number' ? { table, id, updated_at: updatedAt } : null;
  if (position === null || (legacy && !position)) throw malformed();
  if (journal !== undefined && !(Array.isArray(journal) && journal.every((j) => typeof j === 'string'))) throw malformed();
  if (pull !== expected.pull) {
    throw new InvalidCursorError('cursor belongs to another pull', [
      { path: 'cursor', message: 'repeat the pull with the same last_pulled_at, schema_version and migration as its first page' },
    ]);
  }
  if (issuedAt + expected.ttlMs < expected.nowMs) {
    throw new InvalidCursorError('cursor expired', [{ path: 'cursor', message: 'cursor expired: start the pull again without it' }]);
  }
  return {
    pull,
    timestamp,
    queryFrom,
    upTo,
    ...(position ? { position } : {}),
    issuedAt,
    replacement: replacement === 1,
    journal: (journal as string[] | undefined) ?? [],
    ...(typeof journalOffset === 'number' ? { journalOffset } : {}),
  };
}
