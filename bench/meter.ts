/**
 * A DynamoDB client middleware that counts calls per command and sums the capacity units the
 * engine reports. It asks for `ReturnConsumedCapacity: TOTAL` on every call that accepts it
 * (the store requests it only on its Query), so the server's writes and reads are metered too.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const ACCEPTS_RCC = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
]);

export interface MeterReading {
  /** Calls per operation, e.g. `{ Query: 3, GetItem: 1 }`. */
  readonly calls: Record<string, number>;
  /** Capacity units per operation, as reported by the engine. */
  readonly capacity: Record<string, number>;
  readonly totalCapacity: number;
  readonly totalCalls: number;
}

export interface Meter {
  reset(): void;
  read(): MeterReading;
}

type Capacity = { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;

export function meter(client: DynamoDBDocumentClient): Meter {
  let calls = new Map<string, number>();
  let capacity = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String((context as { commandName?: string }).commandName ?? 'Unknown');
      const input = args.input as Record<string, unknown>;
      const metered = ACCEPTS_RCC.has(command) && input.ReturnConsumedCapacity === undefined ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } } : args;
      const result = await next(metered);
      const op = command.replace(/Command$/, '');
      calls.set(op, (calls.get(op) ?? 0) + 1);
      const cc = (result.output as { ConsumedCapacity?: Capacity }).ConsumedCapacity;
      const units = Array.isArray(cc) ? cc.reduce((s, c) => s + (c.CapacityUnits ?? 0), 0) : (cc?.CapacityUnits ?? 0);
      if (cc !== undefined) capacity.set(op, (capacity.get(op) ?? 0) + units);
      return result;
    },
    { step: 'initialize', name: 'benchCapacityMeter', override: true },
  );
  return {
    reset() {
      calls = new Map();
      capacity = new Map();
    },
    read() {
      const c = Object.fromEntries(calls);
      const u = Object.fromEntries(capacity);
      return {
        calls: c,
        capacity: u,
        totalCapacity: Object.values(u).reduce((s, v) => s + v, 0),
        totalCalls: Object.values(c).reduce((s, v) => s + v, 0),
      };
    },
  };
}

/** `Query×20, GetItem×1`, in a stable order. */
/**
 * A modelled network round trip on every call of `client`: each request waits `rttMs()` ms (read
 * per call; 0: no wait) before it is sent. In the finalizeRequest step, so the meter's bookkeeping
 * (initialize) is around it.
 */
export function modelRoundTrip(client: DynamoDBDocumentClient, rttMs: () => number): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const ms = rttMs();
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'modelledRoundTrip' },
  );
}

export function formatCalls(calls: Record<string, number>): string {
  const order = ['Query', 'GetItem', 'BatchGetItem', 'UpdateItem', 'PutItem', 'BatchWriteItem'];
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  const keys = Object.keys(calls).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return keys.map((k) => `${k}×${calls[k]}`).join(', ');
}
