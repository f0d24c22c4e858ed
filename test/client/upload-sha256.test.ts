/**
 * Unit tests of `sha256Hex`, the pure-JS file digest the upload queue sends with each presign:
 * it must equal Node's digest for any input, as bytes and as a Blob, and read a Blob slice by
 * slice (a phone must not hold a whole file in memory to hash it).
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HASH_SLICE_BYTES, sha256Hex } from '../../client/uploads/sha256.js';

const MiB = 1024 * 1024;
const nodeSha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A Blob that records how it is read: each slice's range, and any read of the whole blob. */
class RecordingBlob extends Blob {
  readonly slices: Array<[start: number, end: number]> = [];
  wholeReads = 0;
  override slice(start?: number, end?: number, contentType?: string): Blob {
    this.slices.push([start ?? 0, end ?? this.size]);
    return super.slice(start, end, contentType);
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    this.wholeReads++;
    return super.arrayBuffer();
  }
  override text(): Promise<string> {
    this.wholeReads++;
    return super.text();
  }
  override stream(): ReturnType<Blob['stream']> {
    this.wholeReads++;
    return super.stream();
  }
}

describe('sha256Hex', () => {
  it('reads slices of 1 MiB', () => {
    expect(HASH_SLICE_BYTES).toBe(MiB);
  });

  it('knows the standard test vectors', async () => {
    const enc = new TextEncoder();
    expect(await sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new Blob([enc.encode('abc')]))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  const sizes: Array<[string, number]> = [
    ['empty', 0],
    ['1 byte', 1],
    ['1 MiB − 1', MiB - 1],
    ['exactly 1 MiB', MiB],
    ['1 MiB + 1', MiB + 1],
    ['2 MiB', 2 * MiB],
    ['3 MiB + 17 bytes', 3 * MiB + 17],
  ];
  for (const [label, size] of sizes) {
    it(`equals node:crypto for ${label} of random bytes, as a Uint8Array and as a Blob`, async () => {
      const bytes = new Uint8Array(randomBytes(size));
      const expected = nodeSha256(bytes);
      expect(await sha256Hex(bytes)).toBe(expected);
      expect(await sha256Hex(new Blob([bytes]))).toBe(expected);
      const recording = new RecordingBlob([bytes]);
      expect(await sha256Hex(recording)).toBe(expected);
      expect(recording.wholeReads).toBe(0);
    });
  }

  it('hashes a Node Buffer (a Uint8Array) like its bytes', async () => {
    const buf = randomBytes(1000);
    expect(await sha256Hex(buf)).toBe(nodeSha256(buf));
  });

  it('hashes only the viewed bytes of a Uint8Array that is a window on a larger buffer', async () => {
    const backing = new Uint8Array(randomBytes(4096));
    const view = backing.subarray(100, 2100);
    expect(await sha256Hex(view)).toBe(nodeSha256(backing.slice(100, 2100)));
  });

  it('reads a Blob in consecutive slices of at most HASH_SLICE_BYTES, never whole', async () => {
    const size = 3 * MiB + 5;
    const blob = new RecordingBlob([new Uint8Array(randomBytes(size))]);
    await sha256Hex(blob);
    expect(blob.wholeReads).toBe(0);
    expect(blob.slices).toEqual([
      [0, MiB],
      [MiB, 2 * MiB],
      [2 * MiB, 3 * MiB],
      [3 * MiB, size],
    ]);
    for (const [start, end] of blob.slices) expect(end - start).toBeLessThanOrEqual(HASH_SLICE_BYTES);
  });

  it('reads an exact multiple of the slice size without an empty trailing slice, and an empty Blob not at all', async () => {
    const exact = new RecordingBlob([new Uint8Array(2 * MiB)]);
    await sha256Hex(exact);
    expect(exact.slices).toEqual([
      [0, MiB],
      [MiB, 2 * MiB],
    ]);
    const empty = new RecordingBlob([]);
    expect(await sha256Hex(empty)).toBe(nodeSha256(new Uint8Array(0)));
    expect(empty.slices).toEqual([]);
    expect(empty.wholeReads).toBe(0);
  });

  it('property: equals node:crypto for any bytes, as a Uint8Array and as a Blob built from any split of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.array(fc.nat({ max: 2048 }), { maxLength: 4 }),
        async (bytes, cuts) => {
          const expected = nodeSha256(bytes);
          expect(await sha256Hex(bytes)).toBe(expected);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const parts: Uint8Array<ArrayBuffer>[] = [];
          let from = 0;
          for (const p of [...points, bytes.length]) {
            parts.push(bytes.slice(from, p) as Uint8Array<ArrayBuffer>);
            from = p;
          }
          expect(await sha256Hex(new Blob(parts))).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns 64 lowercase hex characters', async () => {
    const hex = await sha256Hex(new Uint8Array(randomBytes(33)));
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
  });
});
