/** The local stack keeps data (and its token key) across restarts in its data folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/server.js';
import { activityRaw, pushBody } from '../support/records.js';
import { apiAs } from '../support/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'rc-persist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local stack persistence', () => {
  it('serves after a restart the data and tokens of before', async () => {
    const first = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
    const token = ((await (await fetch(`${first.url}/local/token`, { method: 'POST', body: JSON.stringify({ user_id: 'runner-p' }) })).json()) as { token: string }).token;
    expect((await apiAs(first, token).push(pushBody({ activities: { created: [activityRaw('kept')] } }, null))).status).toBe(200);
    await first.close();

    const second = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
    try {
      const pulled = await apiAs(second, token).pull({ last_pulled_at: null });
      expect(pulled.status).toBe(200);
      expect(pulled.body.changes.activities.updated.map((r: { id: string }) => r.id)).toEqual(['kept']);
    } finally {
      await second.close();
    }
  });

  it('POST /local/token validates user_id', async () => {
    const stack = await startLocalStack({ logLevel: 'SILENT' });
    try {
      const r = await fetch(`${stack.url}/local/token`, { method: 'POST', body: JSON.stringify({ user_id: '' }) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field).toBe('user_id');
    } finally {
      await stack.close();
    }
  });
});
