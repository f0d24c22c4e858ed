import { describe, expect, it } from 'vitest';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { decodeCursor, encodeCursor, type CursorState } from '../../lambdas/core/cursor.js';
import { InvalidCursorError } from '../../lambdas/core/errors.js';

const signer = hmacSigner('k'.repeat(32));
const state: CursorState = { pull: 'fp', timestamp: 10, queryFrom: 0, upTo: 10, position: { table: 'activities', id: 'a1', updated_at: 5 }, issuedAt: 1_000 };
const expected = { pull: 'fp', nowMs: 2_000, ttlMs: 60_000 };

describe('pull cursors', () => {
  it('round-trips for the same user and pull, with the replacement flag pinned', () => {
    expect(decodeCursor('u1', encodeCursor('u1', state, signer), expected, signer)).toEqual({ ...state, replacement: false, journal: [] });
    const replacing = { ...state, replacement: true, journal: [] };
    expect(decodeCursor('u1', encodeCursor('u1', replacing, signer), expected, signer)).toEqual(replacing);
  });
  it('pins the journals a pull reads, and resumes the journaled part by offset once the index is done', () => {
    const journaled = { pull: 'fp', timestamp: 10, queryFrom: 0, upTo: 10, issuedAt: 1_000, replacement: false, journal: ['0123456789abcdef', 'fedcba9876543210'], journalOffset: 140 };
    expect(decodeCursor('u1', encodeCursor('u1', journaled, signer), expected, signer)).toEqual(journaled);
  });
  it('still accepts a cursor issued before journals (version 1: index range only)', () => {
    const payload = btoa(JSON.stringify([1, 'fp', 10, 0, 12, 'activities', 'a1', 5, 1_000, 0])).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const legacy = `${payload}.${signer.sign(`u1\n${payload}`)}`;
    expect(decodeCursor('u1', legacy, expected, signer)).toEqual({ ...state, upTo: 12, replacement: false, journal: [] });
  });
  it.each([
    ['a version-1 cursor without a position', [1, 'fp', 10, 0, 12, null, null, null, 1_000, 0]],
    ['a journal that is not a list of ids', [2, 'fp', 10, 0, 12, null, null, null, 1_000, 0, 'x', 3]],
    ['an unknown table in the position', [2, 'fp', 10, 0, 12, 'nope', 'a1', 5, 1_000, 0, [], null]],
  ])('rejects %s as malformed, even when signed', (_name, fields) => {
    const payload = btoa(JSON.stringify(fields)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(() => decodeCursor('u1', `${payload}.${signer.sign(`u1\n${payload}`)}`, expected, signer)).toThrow(/malformed/);
  });
  it.each([
    ['foreign (another user)', (c: string) => decodeCursor('u2', c, expected, signer)],
    ['altered payload', (c: string) => decodeCursor('u1', `${c.split('.')[0]}x.${c.split('.')[1]}`, expected, signer)],
    ['forged signature', (c: string) => decodeCursor('u1', `${c.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA`, expected, signer)],
    ['another pull', (c: string) => decodeCursor('u1', c, { ...expected, pull: 'other' }, signer)],
    ['expired', (c: string) => decodeCursor('u1', c, { ...expected, nowMs: 100_000 }, signer)],
    ['garbage', () => decodeCursor('u1', 'not-a-cursor', expected, signer)],
    ['another server key', (c: string) => decodeCursor('u1', c, expected, hmacSigner('z'.repeat(32)))],
  ])('rejects a %s cursor as invalid_cursor', (_name, attempt) => {
    const cursor = encodeCursor('u1', state, signer);
    expect(() => attempt(cursor)).toThrow(InvalidCursorError);
  });
});
