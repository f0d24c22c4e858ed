import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8ByteLength } from '../../client/utf8.js';
import { countUtf8Bytes } from '../../lambdas/core/utf8.js';

const encoder = new TextEncoder();

// Node's count (what the server uses) and the portable loop (what React Native uses) alike.
describe.each([
  ['utf8ByteLength', utf8ByteLength],
  ['countUtf8Bytes', countUtf8Bytes],
])('%s', (_name, utf8ByteLength) => {
  it('counts 1, 2, 3 and 4-byte characters', () => {
    expect(utf8ByteLength('')).toBe(0);
    expect(utf8ByteLength('a')).toBe(1);
    expect(utf8ByteLength('ü')).toBe(2);
    expect(utf8ByteLength('€')).toBe(3);
    expect(utf8ByteLength('🏃')).toBe(4);
  });

  it('agrees with TextEncoder on any string of code points', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8ByteLength(s) === encoder.encode(s).length));
  });

  it('agrees with TextEncoder on any string of UTF-16 code units, lone surrogates included', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 200 }).map((codes) => String.fromCharCode(...codes));
    fc.assert(fc.property(units, (s) => utf8ByteLength(s) === encoder.encode(s).length), { numRuns: 500 });
  });
});
