/**
 * Opaque pull cursors. A cursor pins one pull (its timestamp and index range) and the position
 * reached; it is MAC'd together with the user id, so a forged, altered or foreign cursor fails
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
  readonly position: IndexPosition;
  readonly issuedAt: number;
  /** The pull is a replacement sync (pinned by its first page: the horizon moves while it pages). */
  readonly replacement?: boolean;
}

const VERSION = 1;

function b64urlEncode(s: string): string {
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function b64urlDecode(s: string): string {
  return atob(s.replace(/-/g, '+').replace(/_/g, '/'));
}

export function encodeCursor(userId: string, state: CursorState, signer: CursorSigner): string {
  const p = state.position;
  const payload = b64urlEncode(
    JSON.stringify([VERSION, state.pull, state.timestamp, state.queryFrom, state.upTo, p.table, p.id, p.updated_at, state.issuedAt, state.replacement ? 1 : 0]),
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
  // 9 fields: a cursor issued before replacement syncs existed (never one).
  if (!Array.isArray(fields) || fields[0] !== VERSION || (fields.length !== 9 && fields.length !== 10)) {
    throw new InvalidCursorError('cursor is malformed', [{ path: 'cursor', message: 'malformed cursor' }]);
  }
  const [, pull, timestamp, queryFrom, upTo, table, id, updatedAt, issuedAt, replacement] = fields as [number, string, number, number, number, string, string, number, number, number?];
  if (!isTableName(table)) throw new InvalidCursorError('cursor is malformed', [{ path: 'cursor', message: 'malformed cursor' }]);
  if (pull !== expected.pull) {
    throw new InvalidCursorError('cursor belongs to another pull', [
      { path: 'cursor', message: 'repeat the pull with the same last_pulled_at, schema_version and migration as its first page' },
    ]);
  }
  if (issuedAt + expected.ttlMs < expected.nowMs) {
    throw new InvalidCursorError('cursor expired', [{ path: 'cursor', message: 'cursor expired: start the pull again without it' }]);
  }
  return { pull, timestamp, queryFrom, upTo, position: { table, id, updated_at: updatedAt }, issuedAt, replacement: replacement === 1 };
}
