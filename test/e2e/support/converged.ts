import { expect } from 'vitest';
import { TABLES, type TableName } from '../../../lambdas/core/schema.js';
import type { LocalStack } from '../../../local/server.js';
import { withoutBookkeeping, type Device, type Snapshot } from './devices.js';
import { serverSnapshot } from './server.js';

/** Every device holds exactly the server's live records, column by column (stamps included), all synced. */
export async function expectConvergedWithServer(s: LocalStack, user: string, devices: readonly Device[]): Promise<Snapshot> {
  const server = await serverSnapshot(s, user);
  for (const d of devices) {
    expect(await d.hasUnsyncedChanges(), `${d.name} has unsynced changes`).toBe(false);
    const snap = await d.snapshot();
    for (const t of TABLES) {
      for (const raw of snap[t.name as TableName]) expect(raw._status, `${d.name} ${t.name}#${raw.id}`).toBe('synced');
      expect(withoutBookkeeping(snap)[t.name as TableName], `${d.name} vs server: ${t.name}`).toEqual(server[t.name as TableName]);
    }
  }
  return server;
}
