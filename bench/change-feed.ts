/**
 * `npx tsx bench/change-feed.ts`: the change feed's latency on the local stack, from a push to
 * its event being readable at `GET /local/events`, over a few hundred pushes of one record each,
 * on DynamoDB Local (the table's stream, read as Lambda reads it) and on dynalite (the stack's own
 * record writes). A reader long-polls the feed (`wait_ms`) the whole time, as a consumer would;
 * each push's event is recognised by its record id. Prints markdown to stdout. Timings are
 * printed, never asserted; the process exits non-zero only if an event is missing or duplicated.
 *
 * BENCH_FEED_WRITES (default 300), BENCH_FEED_ENGINES (default `dynamodb-local,dynalite`).
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

import { startDynamoDbLocal, type Engine } from '../local/engines.js';
import { startLocalStack } from '../local/server.js';

const WRITES = Number(process.env.BENCH_FEED_WRITES ?? 300);
const ENGINES = (process.env.BENCH_FEED_ENGINES ?? 'dynamodb-local,dynalite').split(',').map((s) => s.trim()) as ('dynamodb-local' | 'dynalite')[];
const WARMUP = 20;

interface Result {
  readonly engine: string;
  readonly source: string;
  readonly fromSent: number[];
  readonly fromAnswered: number[];
  readonly missing: number;
  readonly duplicates: number;
}

async function measure(engine: 'dynamodb-local' | 'dynalite'): Promise<Result> {
  let own: Engine | undefined;
  // DynamoDB Local in its own JVM (the stack would start one too; this keeps its start-up out of the stack's).
  if (engine === 'dynamodb-local') own = await startDynamoDbLocal();
  const stack = await startLocalStack({ logLevel: 'ERROR', ...(own ? { dynamodbEndpoint: own.endpoint } : { engine }) });
  const user = `bench-feed-${Date.now()}`;
  const headers = { authorization: `Bearer ${await stack.token(user)}`, 'content-type': 'application/json' };
  const arrivals = new Map<string, number[]>();
  let stop = false;
  let cursor: string | undefined;
  const reader = (async () => {
    while (!stop) {
      const res = await fetch(`${stack.url}/local/events?${cursor === undefined ? '' : `after=${cursor}&`}wait_ms=1000`);
      const page = (await res.json()) as { events: { detail: { record_id: string } }[]; cursor: string };
      const at = performance.now();
      for (const e of page.events) arrivals.set(e.detail.record_id, [...(arrivals.get(e.detail.record_id) ?? []), at]);
      cursor = page.cursor;
    }
  })();
  const push = async (id: string) => {
    const body = { changes: { activities: { created: [{ id, sport: 'running', started_at: 1_767_225_600_000, distance_m: 5000 }], updated: [], deleted: [] } }, last_pulled_at: null };
    const sent = performance.now();
    const res = await fetch(`${stack.url}/api/v1/sync`, { method: 'POST', headers, body: JSON.stringify(body) });
    await res.text();
    if (res.status !== 200) throw new Error(`push ${res.status}`);
    return { sent, answered: performance.now() };
  };
  const waitFor = async (id: string) => {
    const deadline = performance.now() + 30_000;
    while (!arrivals.has(id) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  };
  for (let i = 0; i < WARMUP; i++) {
    await push(`${user}-warm-${i}`);
    await waitFor(`${user}-warm-${i}`);
  }
  const fromSent: number[] = [];
  const fromAnswered: number[] = [];
  let missing = 0;
  for (let i = 0; i < WRITES; i++) {
    const id = `${user}-${i}`;
    const t = await push(id);
    await waitFor(id);
    const at = arrivals.get(id)?.[0];
    if (at === undefined) missing++;
    else {
      fromSent.push(at - t.sent);
      fromAnswered.push(Math.max(0, at - t.answered));
    }
  }
  await stack.eventsSettled();
  stop = true;
  await reader;
  const duplicates = [...arrivals.values()].filter((a) => a.length > 1).length;
  const source = stack.changeFeedSource;
  await stack.close();
  await own?.close();
  return { engine, source, fromSent, fromAnswered, missing, duplicates };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;

const results: Result[] = [];
for (const engine of ENGINES) {
  process.stderr.write(`change feed on ${engine}: ${WRITES} pushes…\n`);
  results.push(await measure(engine));
}
console.log(`## Change feed latency (local stack, ${WRITES} pushes of one record, one at a time)\n`);
console.log('| engine | feed source | push sent → event readable: median | p99 | max | push answered → event readable: median | p99 | missing | duplicated |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.engine} | ${r.source} | ${ms(pct(r.fromSent, 50))} | ${ms(pct(r.fromSent, 99))} | ${ms(Math.max(...r.fromSent))} | ${ms(pct(r.fromAnswered, 50))} | ${ms(pct(r.fromAnswered, 99))} | ${r.missing} | ${r.duplicates} |`,
  );
}
if (results.some((r) => r.missing > 0 || r.duplicates > 0)) process.exitCode = 1;
