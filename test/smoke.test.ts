import { describe, expect, it } from 'vitest';
import { apiAs, useLocalStack } from './support/stack.js';

describe('local stack', () => {
  const stack = useLocalStack();
  it('pushes a record and pulls it back in updated, never in created', async () => {
    const api = apiAs(stack(), await stack().token('smoke-user'));
    const first = await api.pull({ last_pulled_at: null });
    expect(first.status).toBe(200);
    const push = await api.push({
      changes: { activities: { created: [{ id: 'a1', sport: 'running', started_at: 1 }], updated: [], deleted: [] } },
      last_pulled_at: first.body.timestamp,
    });
    expect(push.status).toBe(200);
    const second = await api.pull({ last_pulled_at: first.body.timestamp });
    expect(second.body.changes.activities.created).toEqual([]);
    expect(second.body.changes.activities.updated.map((r: { id: string }) => r.id)).toEqual(['a1']);
  });
});
