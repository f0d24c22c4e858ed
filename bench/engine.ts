/**
 * Starts the bench's DynamoDB engine: dynalite, in memory, on port 0, in a child process. In AWS
 * DynamoDB runs elsewhere; giving the engine its own process (and core) keeps its CPU work from
 * being billed to the server code the bench measures, and vice versa.
 * `BENCH_ENGINE=inprocess` runs it in the bench process instead; `BENCH_ENGINE=dynamodb-local` uses
 * Amazon DynamoDB Local (Java 17+).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDynalite, startDynamoDbLocal } from '../local/engines.js';

export interface BenchEngine {
  readonly endpoint: string;
  readonly where: string;
  stop(): Promise<void>;
}

export async function startEngine(): Promise<BenchEngine> {
  if (process.env.BENCH_ENGINE === 'dynamodb-local') {
    // Amazon DynamoDB Local: a JVM of its own, AWS's semantics (and its own accounting of capacity).
    const e = await startDynamoDbLocal();
    return { endpoint: e.endpoint, where: 'Amazon DynamoDB Local in a child JVM', stop: () => e.close() };
  }
  if (process.env.BENCH_ENGINE === 'inprocess') {
    const e = await startDynalite();
    return { endpoint: e.endpoint, where: 'dynalite in the bench process', stop: () => e.close() };
  }
  // fork() reuses this process's execArgv, which carries tsx's loader.
  const child = fork(fileURLToPath(new URL('./engine-child.ts', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { endpoint: string }).endpoint));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite child exited with ${code}`)));
  });
  return {
    endpoint,
    where: 'dynalite in a child process',
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
