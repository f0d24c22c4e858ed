/**
 * The pull's response body: `pullResponseJson` reuses the JSON each raw was sized with, and must
 * be exactly `JSON.stringify` of the response, whatever the response holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { pullResponseJson } from '../../lambdas/core/pull-json.js';
import { pullChanges, type PullResponse } from '../../lambdas/core/pull.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import { NOW, readOnlyStore } from '../support/read-only-store.js';

const config = { pageBytes: 3_000_000, queryLimit: 3, indexLagMs: 5_000, inflightExpiryMs: 30_000, cursorTtlMs: 900_000, tombstoneRetentionMs: 90 * 86_400_000 };

const activity = (i: number, o: Partial<StoredRecord> = {}): StoredRecord => ({
  table: 'activities',
  id: `a${i}`,
  // Escapes, non-ASCII, a lone surrogate: JSON.stringify's whole repertoire.
  data: { sport: 'running', started_at: 1_700_000_000_000 + i, title: `Run "${i}" — 🏃 \\ \n ${i % 2 ? '\ud800' : 'ü'}`, notes: null, route_polyline: 'a~b\\c'.repeat(20) },
  created_at: NOW - 100_000 + i,
  updated_at: NOW - 100_000 + i,
  deleted_at: null,
  ...o,
});
const upload = (i: number): StoredRecord => ({
  table: 'uploads',
  id: `u${i}`,
  data: { kind: 'fit', content_type: 'application/octet-stream', size_bytes: 10, status: 'processed', duplicate_of: `a${i}` },
  created_at: NOW - 90_000 + i,
  updated_at: NOW - 90_000 + i,
  deleted_at: null,
  column_versions: { status: NOW - 90_000 + i, duplicate_of: NOW - 90_000 + i },
});

const withoutStats = ({ stats: _stats, ...response }: PullResponse & { stats: unknown }): PullResponse => response;
const deps = (records: StoredRecord[], pageBytes = config.pageBytes, keepRawJson = true) => ({ store: readOnlyStore(records), signer: hmacSigner('s'.repeat(32)), now: () => NOW, config: { ...config, pageBytes }, keepRawJson });

describe('pullResponseJson', () => {
  it('is JSON.stringify of any JSON-like value, raws or not', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => pullResponseJson(v as unknown as PullResponse) === JSON.stringify(v)));
    fc.assert(
      fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withSparseArray: true, withDate: true }), (v) => {
        let expected: string | undefined;
        try {
          expected = JSON.stringify(v);
        } catch {
          return true; // bigint and the like: JSON.stringify itself throws
        }
        return expected === undefined || pullResponseJson(v as PullResponse) === expected;
      }),
    );
  });

  it('is JSON.stringify of every page of real pulls: first sync, delta with deletes and own writes, older schema, cursor pages, raws kept or not', async () => {
    const records = [
      ...Array.from({ length: 7 }, (_, i) => activity(i)),
      activity(7, { deleted_at: NOW - 99_000, updated_at: NOW - 99_000 }),
      activity(8, { device: { id: 'phone', since: NOW - 100_000, exact: false }, column_versions: { title: NOW - 95_000 }, updated_at: NOW - 95_000 }),
      upload(1),
      upload(2),
    ];
    const requests = [
      { lastPulledAt: null, schemaVersion: 2, migration: null },
      { lastPulledAt: NOW - 99_500, schemaVersion: 2, migration: null, deviceId: 'phone' },
      // Schema 1: `duplicate_of` and its `_versions` stamp are left out.
      { lastPulledAt: null, schemaVersion: 1, migration: null },
    ];
    // Without keepRawJson (the core alone), every raw is serialised here: the same text.
    for (const [pageBytes, keepRawJson] of [[3_000_000, true], [1_800, true], [3_000_000, false]] as const) {
      for (const request of requests) {
        const d = deps(records, pageBytes, keepRawJson);
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = withoutStats(await pullChanges('u1', { ...request, cursor }, d));
          expect(pullResponseJson(page)).toBe(JSON.stringify(page));
          cursor = page.cursor;
          pages += 1;
        } while (cursor);
        if (pageBytes < 3_000) expect(pages).toBeGreaterThan(1);
      }
    }
  });

  it('serialises each pulled raw once: the body reuses the text the raw was sized with', async () => {
    const records = Array.from({ length: 5 }, (_, i) => activity(i));
    const page = withoutStats(await pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null }, deps(records)));
    const stringify = JSON.stringify;
    let rawCalls = 0;
    JSON.stringify = ((value: unknown, ...rest: []) => {
      if (typeof value === 'object' && value !== null && 'sport' in value) rawCalls += 1;
      return stringify(value, ...rest);
    }) as typeof JSON.stringify;
    let body: string;
    try {
      body = pullResponseJson(page);
    } finally {
      JSON.stringify = stringify;
    }
    expect(rawCalls).toBe(0);
    expect(JSON.parse(body).changes.activities.updated).toHaveLength(5);
  });
});
