/**
 * `npm run bench:push-floor`: only the push-beside-its-floors section of `npm run bench`, on
 * dynalite (child process) and on Amazon DynamoDB Local, with the 3 MB push estimate.
 * `BENCH_SIZES=1000,2000` picks the sizes (default 1000); 3 runs per path and size.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
import { API_HANDLER_TIMEOUT_S, SYNC_PUSH_MEMORY_MB } from '../lib/handler-sizing.js';
import { dynamoDbLocalUnavailable, startDynamoDbLocal } from '../local/engines.js';
import { startEngine } from './engine.js';
import { floorReport, measurePushFloor, type FloorResult } from './push-floor.js';

const sizes = (process.env.BENCH_SIZES ?? '1000').split(',').map((s) => Number(s.trim()));
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const log = (m: string) => process.stderr.write(`[push-floor] ${m}\n`);
const results: FloorResult[] = [];
const dynalite = await startEngine();
try {
  results.push(await measurePushFloor({ endpoint: dynalite.endpoint, engine: dynalite.where.startsWith('Amazon') ? 'DynamoDB Local' : 'dynalite', sizes, reps: () => 3, log }));
} finally {
  await dynalite.stop();
}
const why = dynamoDbLocalUnavailable();
if (why) log(`DynamoDB Local skipped: ${why}`);
else if (process.env.BENCH_ENGINE !== 'dynamodb-local') {
  const ddbl = await startDynamoDbLocal();
  try {
    results.push(await measurePushFloor({ endpoint: ddbl.endpoint, engine: 'DynamoDB Local', sizes, reps: () => 3, log }));
  } finally {
    await ddbl.close();
  }
}
const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
process.stdout.write(`${floorReport(results, { timeoutMs: API_HANDLER_TIMEOUT_S * 1000, memories: [512, 768, 1024, 1769], chosenMb: SYNC_PUSH_MEMORY_MB, fmtMs, median }).join('\n')}\n`);
const failures = results.flatMap((r) => r.failures);
for (const f of failures) log(`FAIL: ${f}`);
process.exit(failures.length > 0 ? 1 : 0);
