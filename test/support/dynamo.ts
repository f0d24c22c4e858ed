/**
 * A private sync table for one test file on the run's DynamoDB engine (Amazon DynamoDB Local in
 * CI; see engine.ts), plus the real DynamoDB store and the core's dependencies wired the way the
 * handlers wire them.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createDocumentClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSyncStore } from '../../lambdas/adapters/dynamo/sync-store.js';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { resolveConflict } from '../../lambdas/core/conflict.js';
import type { PullDeps } from '../../lambdas/core/pull.js';
import type { PushDeps } from '../../lambdas/core/push.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { createTableOn, createTestTable, type TestEngineName, type TestTable } from './engine.js';

export interface DynamoHarness {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly endpoint: string;
  readonly engine: TestEngineName;
  readonly store: DynamoSyncStore;
}

/** A sync table of this test file's own (on the run's engine, or the one given), with the real store over it. */
export function useSyncTable(engine?: TestEngineName): () => DynamoHarness {
  let table: TestTable | undefined;
  let harness: DynamoHarness | undefined;
  beforeAll(async () => {
    table = engine ? await createTableOn(engine) : await createTestTable();
    const db = createDocumentClient({ endpoint: table.endpoint });
    harness = { db, tableName: table.tableName, endpoint: table.endpoint, engine: table.engine, store: new DynamoSyncStore(db, table.tableName) };
  });
  afterAll(async () => {
    harness?.db.destroy();
    await table?.close();
  });
  return () => {
    if (!harness) throw new Error('sync table not created');
    return harness;
  };
}

export const TEST_PULL_CONFIG = { pageBytes: 3_000_000, queryLimit: 500, indexLagMs: 5_000, inflightExpiryMs: 30_000, cursorTtlMs: 900_000, tombstoneRetentionMs: 90 * 86_400_000 };
export const TEST_PUSH_CONFIG = { maxPushMs: 20_000, inflightExpiryMs: 30_000, indexLagMs: 5_000, writeConcurrency: 8, maxWriteAttempts: 100, conflictTtlMs: 90 * 86_400_000, tombstoneRetentionMs: 90 * 86_400_000 };

export function pullDeps(store: SyncStore, overrides: Partial<PullDeps['config']> = {}, now: () => number = Date.now): PullDeps {
  return { store, signer: hmacSigner('test-secret-'.padEnd(32, 'x')), now, config: { ...TEST_PULL_CONFIG, ...overrides } };
}

export function pushDeps(store: SyncStore, overrides: Partial<PushDeps['config']> = {}, now: () => number = Date.now): PushDeps {
  return { store, policy: resolveConflict, now, config: { ...TEST_PUSH_CONFIG, ...overrides } };
}

export const uniqueUser = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** The user's live records as a first sync sees them: `{ table: { id: columns } }` (stamps left out). */
export async function serverState(store: SyncStore, userId: string, now: () => number = Date.now): Promise<Record<string, Record<string, Record<string, unknown>>>> {
  const { pullChanges } = await import('../../lambdas/core/pull.js');
  const state: Record<string, Record<string, Record<string, unknown>>> = {};
  let cursor: string | undefined;
  do {
    const page = await pullChanges(userId, { lastPulledAt: null, schemaVersion: 1, migration: null, cursor }, pullDeps(store, {}, now));
    for (const [table, set] of Object.entries(page.changes)) {
      for (const { created_at: _c, updated_at: _u, _versions: _v, ...raw } of set.updated) (state[table] ??= {})[raw.id as string] = raw;
    }
    cursor = page.cursor;
  } while (cursor);
  return state;
}
