/**
 * Independent views of the server for end-to-end assertions: raw HTTP, not the client adapter,
 * so a bug in `client/` cannot hide itself.
 */
import { expect } from 'vitest';
import type { FetchLike, FetchResponseLike } from '../../../client/index.js';
import type { LocalStack } from '../../../local/server.js';
import { SCHEMA_VERSION, TABLES, type TableName } from '../../../lambdas/core/schema.js';
import { apiAs } from '../../support/stack.js';
import type { Snapshot } from './devices.js';

/** A first-sync pull (from null), every page followed: the user's live records, sorted by id. */
export async function serverSnapshot(stack: LocalStack, userId: string): Promise<Snapshot> {
  const api = apiAs(stack, await stack.token(userId));
  const out = Object.fromEntries(TABLES.map((t) => [t.name, [] as Record<string, unknown>[]])) as Snapshot;
  let cursor: string | undefined;
  let timestamp: number | undefined;
  do {
    // The devices run the current schema: compare with what a client at that version is sent.
    const res = await api.pull({ last_pulled_at: null, schema_version: SCHEMA_VERSION, ...(cursor ? { cursor } : {}) });
    expect(res.status).toBe(200);
    if (timestamp !== undefined) expect(res.body.timestamp).toBe(timestamp);
    timestamp = res.body.timestamp;
    for (const [table, set] of Object.entries(res.body.changes as Record<string, { created: unknown[]; updated: Record<string, unknown>[] }>)) {
      expect(set.created).toEqual([]);
      // `_versions` (per-column stamps for conflict resolution) never reaches a device's stored raw.
      out[table as TableName].push(...set.updated.map(({ _versions, ...raw }) => raw));
    }
    cursor = res.body.cursor;
  } while (cursor);
  for (const raws of Object.values(out)) {
    const ids = raws.map((r) => r.id as string);
    expect(new Set(ids).size, 'an id appears twice in a first-sync pull').toBe(ids.length);
    raws.sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : 1));
  }
  return out;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly bodyBytes: number;
  readonly body?: string;
}

/** Wraps the global fetch, recording every request; `hook` may throw to simulate a failure. */
export function recordingFetch(hook?: (req: RecordedRequest, phase: 'before' | 'after') => void): {
  fetch: FetchLike;
  requests: RecordedRequest[];
} {
  const requests: RecordedRequest[] = [];
  const fetchImpl: FetchLike = async (url, init) => {
    const req: RecordedRequest = {
      method: init.method,
      url: new URL(url),
      bodyBytes: init.body === undefined ? 0 : new TextEncoder().encode(init.body).length,
      body: init.body,
    };
    requests.push(req);
    hook?.(req, 'before');
    const res: FetchResponseLike = await fetch(url, init);
    // read the body now so an `after` failure models "the server did it, the answer was lost"
    const text = await res.text();
    hook?.(req, 'after');
    return { status: res.status, headers: res.headers, text: async () => text };
  };
  return { fetch: fetchImpl, requests };
}
