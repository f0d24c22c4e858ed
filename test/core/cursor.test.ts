import { describe, expect, it } from 'vitest';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { decodeCursor, encodeCursor, type CursorState } from '../../lambdas/core/cursor.js';
import { InvalidCursorError } from '../../lambdas/core/errors.js';

const signer = hmacSigner('k'.repeat(32));
const state: CursorState = { pull: 'fp', timestamp: 10, queryFrom: 0, upTo: 10, position: { table: 'activities', id: 'a1', updated_at: 5 }, issuedAt: 1_000 };
const expected = { pull: 'fp', nowMs: 2_000, ttlMs: 60_000 };

describe('pull cursors', () => {
  it('round-trips for the same user and pull, with the replacement flag pinned', () => {
    expect(decodeCursor('u1', encodeCursor('u1', state, signer), expected, signer)).toEqual({ ...state, replacement: false });
    const replacing = { ...state, replacement: true };
    expect(decodeCursor('u1', encodeCursor('u1', replacing, signer), expected, signer)).toEqual(replacing);
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
