import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lambdas/config.js';

const secret = 's'.repeat(32);

describe('loadConfig', () => {
  it('fails at cold start, naming every missing or bad variable', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/TABLE_NAME/);
    expect(() => loadConfig({ TABLE_NAME: 'sync', CURSOR_SECRET: 'short' })).toThrow(/CURSOR_SECRET: must be at least 32/);
    expect(() => loadConfig({ TABLE_NAME: 'sync', CURSOR_SECRET: secret, PULL_PAGE_BYTES: '3000001' })).toThrow(/PULL_PAGE_BYTES/);
    expect(() => loadConfig({ TABLE_NAME: 'sync', CURSOR_SECRET: secret, INDEX_LAG_MS: '20000' })).toThrow(/INFLIGHT_GRACE_MS must be at least/);
  });

  it('applies documented defaults and derives the in-flight expiry', () => {
    const c = loadConfig({ TABLE_NAME: 'sync', CURSOR_SECRET: secret });
    expect(c.pull).toMatchObject({ pageBytes: 3_000_000, indexLagMs: 5_000, inflightExpiryMs: 30_000, cursorTtlMs: 900_000 });
    expect(c.push).toMatchObject({ maxPushMs: 20_000, inflightExpiryMs: 30_000 });
    expect(Object.isFrozen(c) && Object.isFrozen(c.pull)).toBe(true);
  });

  it('loads without a cursor key for handlers that sign no cursors (they are not granted it)', () => {
    expect(loadConfig({ TABLE_NAME: 'sync' }).cursorSecret).toBeUndefined();
  });

  it('takes the cursor key from Secrets Manager when only its ARN is given', () => {
    const c = loadConfig({ TABLE_NAME: 'sync', CURSOR_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' });
    expect(c.cursorSecret).toEqual({ arn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' });
  });
});
