/**
 * Damaged, truncated, foreign and hostile bytes: always a typed failure with a message for the
 * runner, never a throw, never an activity made of damaged data.
 */
import { CrcCalculator } from '@garmin/fitsdk';
import { describe, expect, it } from 'vitest';
import { FIT_ERROR_CODES, FitFileError, decodeFitActivity, type FitDecodeResult, type FitErrorCode } from '../../lambdas/fit/index.js';
import { fixture, sdkRead } from './support/fixtures.js';
import { syntheticRun } from './support/synthetic.js';

function failure(result: FitDecodeResult): FitFileError {
  if (result.ok) throw new Error(`expected a failure, got an activity (${result.decoder})`);
  expect(result.error).toBeInstanceOf(FitFileError);
  expect(FIT_ERROR_CODES).toContain(result.error.code);
  expect(result.error.message.length).toBeGreaterThan(10);
  return result.error;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A FIT container with a correct header and data CRC around arbitrary data bytes. */
function wrapInValidContainer(data: Uint8Array): Uint8Array {
  const file = new Uint8Array(14 + data.length + 2);
  const view = new DataView(file.buffer);
  view.setUint8(0, 14);
  view.setUint8(1, 0x20);
  view.setUint16(2, 2100, true);
  view.setUint32(4, data.length, true);
  file.set([0x2e, 0x46, 0x49, 0x54], 8);
  view.setUint16(12, CrcCalculator.calculateCRC(file, 0, 12), true);
  file.set(data, 14);
  view.setUint16(14 + data.length, CrcCalculator.calculateCRC(file, 0, 14 + data.length), true);
  return file;
}

/** Deterministic pseudo-random bytes (LCG). */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('bad files → a clear, typed reason', () => {
  it.each<[string, FitErrorCode, RegExp]>([
    ['derived/empty.fit', 'empty', /empty/],
    ['derived/not-a-fit-file.fit', 'not_fit', /not a FIT file/],
    ['derived/header-only.fit', 'truncated', /incomplete: it declares 121839 bytes but only 14 arrived/],
    ['derived/truncated-50pct.fit', 'truncated', /incomplete/],
    ['python-fitparse/activity-unexpected-eof.fit', 'truncated', /incomplete/],
    ['python-fitparse/activity-filecrc.fit', 'bad_crc', /damaged: its data checksum/],
    ['derived/bad-header-crc.fit', 'bad_crc', /damaged: its header checksum/],
    ['derived/bitflip-in-record-payload.fit', 'bad_crc', /damaged: its data checksum/],
    // Chained: the first FIT file is intact, a later one is damaged → the upload fails.
    ['python-fitparse/activity-activity-filecrc.fit', 'bad_crc', /FIT file 2 in this upload is damaged/],
    ['python-fitparse/activity-settings-nodata.fit', 'truncated', /FIT file 2 in this upload is incomplete/],
  ])('%s → %s', (file, code, message) => {
    const error = failure(decodeFitActivity(fixture(file)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses a one-bit flip that only the CRC can see, although the SDK alone would return its (wrong) data', () => {
    const bytes = fixture('derived/bitflip-in-record-payload.fit');
    const sdk = sdkRead(bytes);
    expect(sdk.sessions.length).toBe(1); // partial data…
    expect(sdk.errors.length).toBeGreaterThan(0); // …with an error beside it
    expect(failure(decodeFitActivity(bytes)).code).toBe('bad_crc');
  });

  it('refuses every single-bit flip anywhere in a small activity file', () => {
    const original = fixture('python-fitparse/Activity.fit');
    expect(decodeFitActivity(original).ok).toBe(true);
    const codes = new Set<string>();
    for (let i = 0; i < original.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = original.slice();
        damaged[i]! ^= 1 << bit;
        codes.add(failure(decodeFitActivity(damaged)).code);
      }
    }
    expect([...codes].sort()).toEqual(['bad_crc', 'not_fit', 'truncated']);
  });

  it('refuses every truncation of a small activity file', () => {
    const original = fixture('python-fitparse/Activity.fit');
    for (let length = 0; length < original.length; length++) {
      const code = failure(decodeFitActivity(original.subarray(0, length))).code;
      expect(code).toBe(length === 0 ? 'empty' : length < 12 ? 'not_fit' : 'truncated');
    }
  });

  it('reads noise as not a FIT file', () => {
    for (const [length, seed] of [
      [1, 1],
      [13, 2],
      [5000, 3],
    ] as const) {
      expect(failure(decodeFitActivity(noise(length, seed))).code).toBe('not_fit');
    }
  });

  it('fails an intact container of meaningless data as decode_failed, after both decoders tried', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const error = failure(decodeFitActivity(wrapInValidContainer(noise(2000, seed))));
      expect(['decode_failed', 'no_activity']).toContain(error.code);
    }
    // A data message for local message type 5, which nothing defined.
    const error = failure(decodeFitActivity(wrapInValidContainer(new Uint8Array([0x05, 0, 0, 0]))));
    expect(error.code).toBe('decode_failed');
    expect(String((error.cause as Error).message)).toMatch(/@garmin\/fitsdk: .*fit-file-parser: /);
  });

  it('refuses a file over maxBytes before decoding it', () => {
    const error = failure(decodeFitActivity(fixture('python-fitparse/activity-small-fenix2-run.fit'), { maxBytes: 100_000 }));
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/0\.1 MB/);
  });

  it('stops decoding at maxMessages (the memory bound) with too_large', () => {
    const run = syntheticRun({ seconds: 3600 }); // 3,600 records + a few other messages
    expect(decodeFitActivity(run, { maxMessages: 4000 }).ok).toBe(true);
    const error = failure(decodeFitActivity(run, { maxMessages: 1000 }));
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/more than 1,000 messages/);
  });

  it('does not hand a file over maxFallbackBytes to the fallback decoder', () => {
    const bytes = fixture('python-fitparse/compressed-speed-distance.fit');
    expect(decodeFitActivity(bytes).ok).toBe(true);
    const error = failure(decodeFitActivity(bytes, { maxFallbackBytes: 1000 }));
    expect(error.code).toBe('decode_failed');
    expect(String((error.cause as Error).message)).toMatch(/compressed timestamp.*too large for the fallback/);
  });
});

describe('chained files and trailing bytes', () => {
  const run = () => fixture('python-fitparse/activity-small-fenix2-run.fit');

  it('ignores non-FIT bytes after a valid file: same activity, read by the SDK, with a note', () => {
    const clean = decodeFitActivity(run());
    const padded = decodeFitActivity(fixture('derived/trailing-garbage.fit'));
    if (!clean.ok || !padded.ok) throw new Error('both must decode');
    expect(padded.activity).toEqual(clean.activity);
    expect(padded.decoder).toBe('garmin-fitsdk'); // the garbage never reached a decoder
    expect(padded.notes.map((n) => n.code)).toContain('trailing_bytes_ignored');
    expect(padded.notes.find((n) => n.code === 'trailing_bytes_ignored')?.message).toMatch(/102 bytes/);
  });

  it('keeps the intact activity when what follows has lost its FIT signature (activity-settings-corruptheader.fit)', () => {
    const alone = decodeFitActivity(fixture('python-fitparse/Activity.fit'));
    const result = decodeFitActivity(fixture('python-fitparse/activity-settings-corruptheader.fit'));
    if (!alone.ok || !result.ok) throw new Error('both must decode');
    expect(result.activity).toEqual(alone.activity);
    expect(result.notes.map((n) => n.code)).toEqual(['trailing_bytes_ignored']);
  });

  it('decodes a valid chain (activity + settings file) with a note', () => {
    const result = decodeFitActivity(fixture('python-fitparse/activity-settings.fit'));
    if (!result.ok) throw result.error;
    expect(result.notes.map((n) => n.code)).toContain('chained_files');
  });

  it('fails when the trailing bytes are a FIT header whose file is missing (a cut-off chain)', () => {
    const header = fixture('derived/header-only.fit');
    expect(failure(decodeFitActivity(concat(run(), header))).code).toBe('truncated');
  });

  it('fails when a chained file is damaged, whichever position it has', () => {
    const good = syntheticRun({ seconds: 60 });
    const bad = good.slice();
    bad[100]! ^= 0x01;
    expect(failure(decodeFitActivity(concat(good, bad))).message).toMatch(/FIT file 2 in this upload is damaged/);
    expect(failure(decodeFitActivity(concat(bad, good))).message).toMatch(/The FIT file is damaged/);
    expect(decodeFitActivity(concat(good, good)).ok).toBe(true);
  });
});
