import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CursorSigner } from '../core/cursor.js';

/** HMAC-SHA256 cursor signatures (base64url, 128 bits kept). */
export function hmacSigner(secret: string): CursorSigner {
  const sign = (message: string) => createHmac('sha256', secret).update(message).digest('base64url').slice(0, 22);
  return {
    sign,
    verify(message, signature) {
      const expected = Buffer.from(sign(message));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
