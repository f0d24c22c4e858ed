/**
 * A private dynalite (port 0, in memory) with the sync table, for one test file; plus the
 * real DynamoDB store and the core's dependencies wired the way the handlers wire them.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createDocumentClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSyncStore } from '../../lambdas/adapters/dynamo/sync-store.js';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { resolveConflict } from '../../lambdas/core/conflict.js';
import type { PullDeps } from '../../lambdas/core/pull.js';
import type { PushDeps } from '../../lambdas/core/push.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { ensureSyncTable, startDynalite, type Engine } from '../../local/engines.js';

export interface DynamoHarness {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly store: DynamoSyncStore;
}

export function useDynalite(): () => DynamoHarness {
  let engine: Engine | undefined;
  let harness: DynamoHarness | undefined;
  beforeAll(async () => {
    engine = await startDynalite();
    const tableName = `sync-${randomUUID().slice(0, 8)}`;
    const raw = new DynamoDBClient({ endpoint: engine.endpoint, region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await ensureSyncTable(raw, tableName);
    raw.destroy();
    const db = createDocumentClient({ endpoint: engine.endpoint });
    harness = { db, tableName, store: new DynamoSyncStore(db, tableName) };
  });
  afterAll(async () => {
    harness?.db.destroy();
    await engine?.close();
  });
  return () => {
    if (!harness) throw new Error('dynalite not started');
    return harness;
  };
}

export const TEST_PULL_CONFIG = { pageBytes: 3_000_000, queryLimit: 500, indexLagMs: 5_000, inflightExpiryMs: 30_000, cursorTtlMs: 900_000 };
export const TEST_PUSH_CONFIG = { maxPushMs: 20_000, inflightExpiryMs: 30_000, indexLagMs: 5_000, writeConcurrency: 8, maxWriteAttempts: 8, conflictTtlMs: 90 * 86_400_000 };

export function pullDeps(store: SyncStore, overrides: Partial<PullDeps['config']> = {}, now: () => number = Date.now): PullDeps {
  return { store, signer: hmacSigner('test-secret-'.padEnd(32, 'x')), now, config: { ...TEST_PULL_CONFIG, ...overrides } };
}

export function pushDeps(store: SyncStore, overrides: Partial<PushDeps['config']> = {}, now: () => number = Date.now): PushDeps {
  return { store, policy: resolveConflict, now, config: { ...TEST_PUSH_CONFIG, ...overrides } };
}

export const uniqueUser = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** The user's live records as a first sync sees them: `{ table: { id: columns } }` (stamps left out). */
export async function serverState(store: SyncStore, userId: string): Promise<Record<string, Record<string, Record<string, unknown>>>> {
  const { pullChanges } = await import('../../lambdas/core/pull.js');
  const state: Record<string, Record<string, Record<string, unknown>>> = {};
  let cursor: string | undefined;
  do {
    const page = await pullChanges(userId, { lastPulledAt: null, schemaVersion: 1, migration: null, cursor }, pullDeps(store));
    for (const [table, set] of Object.entries(page.changes)) {
      for (const { created_at: _c, updated_at: _u, _versions: _v, ...raw } of set.updated) (state[table] ??= {})[raw.id as string] = raw;
    }
    cursor = page.cursor;
  } while (cursor);
  return state;
}
