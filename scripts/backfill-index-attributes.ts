/**
 * `npm run backfill:indexes -- --table <name> [--region <r> | --endpoint <url>] [--segment <i> --total-segments <n>]
 *  [--tombstone-retention-days <d>] [--dry-run] [--start-after <token>]`
 *
 * Sets `live_at`, `started_at` and (with a retention) tombstone `expires_at` on record items
 * written before the table's sparse indexes existed (lambdas/adapters/dynamo/index-backfill.ts;
 * docs/deploy.md, "Upgrading a stack deployed before the three indexes"). Idempotent: run it
 * again at any time. Parallel: run `--total-segments N` workers, one per `--segment 0..N-1`.
 * Resumable: each page prints a `--start-after` token to stderr. Prints the counts as JSON.
 * Credentials come from the environment (AWS profile, SSO, …), as for the AWS CLI.
 */
import { parseArgs } from 'node:util';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { backfillIndexAttributes, type BackfillOptions } from '../lambdas/adapters/dynamo/index-backfill.js';

const USAGE =
  'usage: npm run backfill:indexes -- --table <name> [--region <region> | --endpoint <url>] [--segment <i> --total-segments <n>] ' +
  '[--tombstone-retention-days <days> | --tombstone-retention-ms <ms>] [--dry-run] [--start-after <token>]';

export function parseBackfillArgs(argv: readonly string[]): { options: BackfillOptions; region?: string; endpoint?: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      table: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      segment: { type: 'string' },
      'total-segments': { type: 'string' },
      'tombstone-retention-days': { type: 'string' },
      'tombstone-retention-ms': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'start-after': { type: 'string' },
      'page-size': { type: 'string' },
    },
    strict: true,
  });
  if (!values.table) throw new UsageError('--table is required');
  const int = (name: string, value: string | undefined, min: number) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return Number(value);
  };
  if (values['tombstone-retention-days'] !== undefined && values['tombstone-retention-ms'] !== undefined) throw new UsageError('give --tombstone-retention-days or --tombstone-retention-ms, not both');
  const days = int('tombstone-retention-days', values['tombstone-retention-days'], 1);
  const retentionMs = int('tombstone-retention-ms', values['tombstone-retention-ms'], 1) ?? (days !== undefined ? days * 86_400_000 : undefined);
  const segment = int('segment', values.segment, 0);
  const totalSegments = int('total-segments', values['total-segments'], 1);
  if ((segment === undefined) !== (totalSegments === undefined)) throw new UsageError('--segment and --total-segments go together');
  if (segment !== undefined && totalSegments !== undefined && segment >= totalSegments) throw new UsageError('--segment must be below --total-segments');
  let startAfter: Record<string, unknown> | undefined;
  if (values['start-after'] !== undefined) {
    try {
      startAfter = JSON.parse(Buffer.from(values['start-after'], 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new UsageError('--start-after is not a token this script printed');
    }
  }
  const pageSize = int('page-size', values['page-size'], 1);
  return {
    options: {
      tableName: values.table,
      dryRun: values['dry-run'],
      ...(segment !== undefined ? { segment, totalSegments } : {}),
      ...(retentionMs !== undefined ? { tombstoneRetentionMs: retentionMs } : {}),
      ...(startAfter ? { startAfter } : {}),
      ...(pageSize !== undefined ? { pageSize } : {}),
    },
    ...(values.region ? { region: values.region } : {}),
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
  };
}

export class UsageError extends Error {}

/** The position to resume after, as the token `--start-after` takes. */
export const resumeToken = (lastKey: Record<string, unknown>) => Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url');

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseBackfillArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const db = createDocumentClient({ ...(parsed.endpoint ? { endpoint: parsed.endpoint } : {}), ...(parsed.region ? { region: parsed.region } : {}) });
  try {
    const counts = await backfillIndexAttributes(db, {
      ...parsed.options,
      onPage: ({ counts: c, lastKey }) =>
        process.stderr.write(`scanned ${c.scanned}, records ${c.records}, updated ${c.updated}, changed concurrently ${c.changedConcurrently}${lastKey ? `; resume with --start-after ${resumeToken(lastKey)}` : '; done'}\n`),
    });
    if (counts.tombstonesWithoutExpiry > 0) {
      process.stderr.write(`${counts.tombstonesWithoutExpiry} tombstones have no expires_at: pass --tombstone-retention-days (the deployment's TOMBSTONE_RETENTION_DAYS) to set it\n`);
    }
    process.stdout.write(`${JSON.stringify({ table: parsed.options.tableName, dry_run: parsed.options.dryRun ?? false, ...counts })}\n`);
  } finally {
    db.destroy();
  }
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) await main();
