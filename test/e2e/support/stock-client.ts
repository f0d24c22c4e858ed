/**
 * The README's stock-client snippet (`synchronize()` with plain fetch, contract v1 fields only, no
 * client module), for the e2e tests that sync devices the way an app without our module does.
 */
import type { Database } from '@nozbe/watermelondb';
import { synchronize } from '@nozbe/watermelondb/sync/index.js';

/**
 * The README's snippet, word for word apart from where the URL and token come from, and the
 * `fetch` it calls (a test may pass one that observes or breaks the network).
 */
export function stockSync(database: Database, baseUrl: string, token: string, fetch: typeof globalThis.fetch = globalThis.fetch) {
  return synchronize({
    database,
    sendCreatedAsUpdated: true,
    pullChanges: async ({ lastPulledAt, schemaVersion, migration }) => {
      const query = `last_pulled_at=${lastPulledAt ?? null}&schema_version=${schemaVersion}&migration=${encodeURIComponent(JSON.stringify(migration))}`;
      let body: { changes: any; timestamp: number; cursor?: string };
      const pages: any[] = [];
      let cursor: string | undefined;
      do {
        const response = await fetch(`${baseUrl}/api/v1/sync?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
        if (!response.ok) throw new Error(await response.text());
        body = (await response.json()) as typeof body;
        pages.push(body.changes);
        cursor = body.cursor;
      } while (cursor);
      const changes = pages.reduce((all, page) => {
        for (const [t, set] of Object.entries<any>(page)) {
          const into = (all[t] ??= { created: [], updated: [], deleted: [] });
          into.created.push(...set.created);
          into.updated.push(...set.updated);
          into.deleted.push(...set.deleted);
        }
        return all;
      }, {});
      return { changes, timestamp: body!.timestamp };
    },
    pushChanges: async ({ changes, lastPulledAt }) => {
      const response = await fetch(`${baseUrl}/api/v1/sync?last_pulled_at=${lastPulledAt}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ changes, last_pulled_at: lastPulledAt }),
      });
      if (!response.ok) throw new Error(await response.text());
      return (await response.json()) as { experimentalRejectedIds?: Record<string, string[]> }; // carries experimentalRejectedIds when the server left records out
    },
  });
}
