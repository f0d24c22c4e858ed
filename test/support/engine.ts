/**
 * Which DynamoDB engine the suites run on, and one table of it per test file.
 *
 * - `dynamodb-local` (default; CI requires it): Amazon DynamoDB Local, Amazon's own engine. One JVM
 *   for the whole run, started by test/support/global-setup.ts; each test file creates its own
 *   uniquely named table and deletes it afterwards.
 * - `dynalite` (`TEST_DYNAMODB_ENGINE=dynalite npm test`): the pure-JS engine of `npm start`, one
 *   private instance per test file; a fast inner loop, but not proof of DynamoDB behaviour (it never
 *   returns the item of a failed condition, has no TTL, Streams or transactions).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { deleteTable, ensureSyncTable, startDynalite } from '../../local/engines.js';

export type TestEngineName = 'dynamodb-local' | 'dynalite';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the shared DynamoDB Local, or '' when the run uses dynalite. */
    dynamodbLocalEndpoint: string;
  }
}

/** The engine of this run, as global-setup decided it. */
export function testEngine(): TestEngineName {
  return inject('dynamodbLocalEndpoint') ? 'dynamodb-local' : 'dynalite';
}

export interface TestTable {
  readonly engine: TestEngineName;
  readonly endpoint: string;
  readonly tableName: string;
  /** Deletes the table (and stops a private engine). */
  close(): Promise<void>;
}

/** A fresh, uniquely named sync table (TTL on where the engine has it) on the run's engine. */
export function createTestTable(label = 'sync'): Promise<TestTable> {
  return createTableOn(testEngine(), label);
}

/**
 * The engines a test that must hold on every engine runs on: dynalite always (the `npm start`
 * default), DynamoDB Local whenever the run has it (always in CI).
 */
export function availableEngines(): TestEngineName[] {
  return testEngine() === 'dynamodb-local' ? ['dynalite', 'dynamodb-local'] : ['dynalite'];
}

/** A fresh sync table on the given engine (dynalite: a private instance; DynamoDB Local: the run's). */
export async function createTableOn(engine: TestEngineName, label = 'sync'): Promise<TestTable> {
  const shared = engine === 'dynamodb-local' ? inject('dynamodbLocalEndpoint') : '';
  if (engine === 'dynamodb-local' && !shared) throw new Error('this run has no DynamoDB Local (see test/support/global-setup.ts)');
  const own = shared ? undefined : await startDynalite();
  const endpoint = shared || (own?.endpoint as string);
  const tableName = `${label}-${randomUUID().slice(0, 8)}`;
  const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureSyncTable(client, tableName);
  return {
    engine: shared ? 'dynamodb-local' : 'dynalite',
    endpoint,
    tableName,
    async close() {
      try {
        if (!own) await deleteTable(client, tableName);
      } finally {
        client.destroy();
        await own?.close();
      }
    },
  };
}
