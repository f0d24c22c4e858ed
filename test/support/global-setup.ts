/**
 * Starts Amazon DynamoDB Local once for the whole test run (a JVM takes ~4 s to start; one per file
 * would cost minutes) and hands its endpoint to every test file. Each file makes its own table.
 *
 * `TEST_DYNAMODB_ENGINE=dynalite` runs the suites on dynalite instead (fast inner loop). Without
 * Java, a developer's run falls back to dynalite with a warning; CI (CI=true) never does: there a
 * suite that only ran on dynalite would prove nothing about DynamoDB.
 */
import type { TestProject } from 'vitest/node';
import { dynamoDbLocalUnavailable, startDynamoDbLocal, type Engine } from '../../local/engines.js';

let engine: Engine | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = process.env.TEST_DYNAMODB_ENGINE ?? 'dynamodb-local';
  if (wanted !== 'dynamodb-local' && wanted !== 'dynalite') throw new Error(`TEST_DYNAMODB_ENGINE must be dynamodb-local or dynalite, not '${wanted}'`);
  let endpoint = '';
  if (wanted === 'dynamodb-local') {
    const why = dynamoDbLocalUnavailable();
    if (why && process.env.CI) throw new Error(`CI runs the DynamoDB suites on Amazon DynamoDB Local, which cannot start: ${why}`);
    if (why) {
      console.warn(`\n[tests] Amazon DynamoDB Local unavailable (${why}): running the DynamoDB suites on dynalite. Install Java 17+ to test on Amazon's engine.\n`);
    } else {
      engine = await startDynamoDbLocal();
      endpoint = engine.endpoint;
    }
  }
  project.provide('dynamodbLocalEndpoint', endpoint);
  return async () => {
    await engine?.close();
  };
}
