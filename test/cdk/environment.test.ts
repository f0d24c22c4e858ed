/**
 * What each deployed function is given is enough for the code it runs: its template environment
 * (intrinsics replaced by plausible values) passes lambdas/config.ts's `loadConfig`, which every
 * handler's runtime calls at cold start. Catches an access list that is narrower than what the
 * handler's configuration demands, before a deploy does.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/config.js';
import { appFunctions, logicalId, synthStack, type Resource } from './support.js';

/** A value of the right shape for a variable the template fills with an intrinsic (Ref/GetAtt). */
const PLACEHOLDERS: Record<string, string> = {
  TABLE_NAME: 'RunningCoachSync-dev-DataSyncTable-1A2B3C',
  CURSOR_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:CursorSecret-AbCdEf',
  UPLOADS_BUCKET: 'runningcoachsync-dev-filesuploads-1a2b3c',
};

/**
 * Known mismatches between an access list (lambdas/routes.ts) and what the handler's config
 * requires: the test pins the exact failure, so it turns red the day the gap is fixed — then
 * delete the entry.
 */
const KNOWN_GAPS: Record<string, { readonly error: RegExp; readonly why: string }> = {};

function environmentOf(template: Template, id: string): Record<string, string> {
  const fn = (template.findResources('AWS::Lambda::Function') as Record<string, Resource>)[id]!;
  const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return Object.fromEntries(
    Object.entries(vars).map(([name, value]) => {
      if (typeof value === 'string') return [name, value];
      const placeholder = PLACEHOLDERS[name];
      if (!placeholder) throw new Error(`no placeholder for ${name} = ${JSON.stringify(value)}: add one`);
      return [name, placeholder];
    }),
  );
}

describe('function environments satisfy lambdas/config.ts', () => {
  const { stack, template } = synthStack();
  for (const { name, fn } of appFunctions(stack)) {
    const load = () => loadConfig(environmentOf(template, logicalId(stack, fn)));
    const gap = KNOWN_GAPS[name];
    if (gap) it(`${name}: KNOWN GAP, ${gap.why}`, () => expect(load).toThrow(gap.error));
    else it(name, () => expect(load).not.toThrow());
  }
});
