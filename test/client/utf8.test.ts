import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8ByteLength } from '../../client/utf8.js';

const encoder = new TextEncoder();

describe('utf8ByteLength', () => {
  it('counts 1, 2, 3 and 4-byte characters', () => {
    expect(utf8ByteLength('')).toBe(0);
    expect(utf8ByteLength('a')).toBe(1);
    expect(utf8ByteLength('ü')).toBe(2);
    expect(utf8ByteLength('€')).toBe(3);
    expect(utf8ByteLength('🏃')).toBe(4);
  });

  it('agrees with TextEncoder on any ASCII string (the fast path), and with one non-ASCII unit anywhere in it', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 300 }), (s) => utf8ByteLength(s) === encoder.encode(s).length));
    const mixed = fc.tuple(fc.string({ unit: 'binary-ascii' }), fc.integer({ min: 0x80, max: 0xffff }), fc.string({ unit: 'binary-ascii' })).map(([a, unit, b]) => `${a}${String.fromCharCode(unit)}${b}`);
    fc.assert(fc.property(mixed, (s) => utf8ByteLength(s) === encoder.encode(s).length));
  });

  it('agrees with TextEncoder on any string of code points', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8ByteLength(s) === encoder.encode(s).length));
  });

  it('agrees with TextEncoder on any string of UTF-16 code units, lone surrogates included', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 200 }).map((codes) => String.fromCharCode(...codes));
    fc.assert(fc.property(units, (s) => utf8ByteLength(s) === encoder.encode(s).length), { numRuns: 500 });
  });
});
