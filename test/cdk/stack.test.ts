/** The whole stack: least privilege across every policy, stage lifecycles, cdk-nag. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SYNC_INDEX_ACTIONS, SYNC_TABLE_ACTIONS } from '../../lib/data.js';
import { SyncStack, type SyncStackProps } from '../../lib/stack.js';

const flags = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;
const fastApp = (outdir?: string) =>
  new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false, outdir });

function synth(props: Partial<SyncStackProps> = {}) {
  const stack = new SyncStack(fastApp(), 'StackTest', { stage: 'dev', ...props });
  return { stack, template: Template.fromStack(stack) };
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
type Resource = { Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

/** Every statement of every AWS::IAM::Policy, with the policy's roles. */
function statements(template: Template) {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>).flatMap((p) => {
    const roles = (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    return (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement.map((s) => ({ ...s, roles }));
  });
}
/** The literal strings of a resource expression (intrinsics resolve to their resource's own ARN). */
const literals = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(literals) : v && typeof v === 'object' ? Object.values(v).flatMap(literals) : [];

describe('IAM', () => {
  for (const mode of ['user pool', 'existing issuer'] as const) {
    const { template } = synth(mode === 'existing issuer' ? { existingIssuer: { issuer: 'https://login.example.com', audience: ['app'] } } : {});

    it(`${mode}: no statement has a * action or a * resource`, () => {
      const all = statements(template);
      expect(all.length).toBeGreaterThan(0);
      for (const s of all) {
        for (const action of [s.Action].flat()) expect(action, JSON.stringify(s)).not.toMatch(/\*/);
        for (const resource of [s.Resource].flat()) {
          expect(resource, JSON.stringify(s)).not.toBe('*');
          for (const text of literals(resource)) expect(text, JSON.stringify(s)).not.toMatch(/\*/);
        }
      }
    });

    it(`${mode}: roles carry no managed policies`, () => {
      for (const role of Object.values(template.findResources('AWS::IAM::Role') as Record<string, Resource>)) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  }

  it('sync functions: DynamoDB rights on the table (and its index) only, no S3 rights', () => {
    const { stack, template } = synth();
    const tableArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.data.table.node.defaultChild as CfnElement), 'Arn'] };
    const indexArn = { 'Fn::Join': ['', [tableArn, `/index/${stack.data.updatedAtIndexName}`]] };
    const all = statements(template);
    expect(stack.api.functions.size).toBeGreaterThan(0);

    for (const fn of stack.api.functions.values()) {
      const roleId = stack.getLogicalId(fn.role!.node.defaultChild as CfnElement);
      const own = all.filter((s) => s.roles.includes(roleId));
      const actions = own.flatMap((s) => [s.Action].flat());
      expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);

      const dynamo = own.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
      for (const s of dynamo) expect([tableArn, indexArn]).toContainEqual(s.Resource);
      const on = (arn: unknown) => dynamo.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(arn)).flatMap((s) => [s.Action].flat()).sort();
      expect(on(tableArn)).toEqual([...SYNC_TABLE_ACTIONS].sort());
      expect(on(indexArn)).toEqual([...SYNC_INDEX_ACTIONS]);
      // Nothing else: its own log group and the cursor secret.
      expect(new Set(actions.map((a) => a.split(':')[0]))).toEqual(new Set(['logs', 'dynamodb', 'secretsmanager']));
    }
  });
});

describe('stages', () => {
  const lifecycle = (template: Template, type: string) =>
    Object.values(template.findResources(type) as Record<string, Resource>).map((r) => [r.DeletionPolicy, r.UpdateReplacePolicy]);

  it('prod retains the table, the user pool and the logs, with deletion protection', () => {
    const { template } = synth({ stage: 'prod' });
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool', 'AWS::Logs::LogGroup']) {
      expect(lifecycle(template, type).length, type).toBeGreaterThan(0);
      expect(lifecycle(template, type).every(([d, u]) => d === 'Retain' && u === 'Retain'), type).toBe(true);
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'ACTIVE' });
  });

  it('dev destroys them, without deletion protection', () => {
    const { template } = synth({ stage: 'dev' });
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool', 'AWS::Logs::LogGroup']) {
      expect(lifecycle(template, type).length, type).toBeGreaterThan(0);
      expect(lifecycle(template, type).every(([d, u]) => d === 'Delete' && u === 'Delete'), type).toBe(true);
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'INACTIVE' });
  });
});

describe('cdk-nag AwsSolutions', () => {
  /** Synthesizes with the checks as bin/app.ts registers them; a finding makes synth throw. */
  function synthWithNag(props: Partial<SyncStackProps>, extend?: (stack: SyncStack) => void) {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-nag-'));
    const app = fastApp(outdir);
    const stack = new SyncStack(app, 'NagTest', { stage: 'dev', ...props });
    extend?.(stack);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
      return JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { conclusion: string }[] };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }

  it('passes on dev, prod and with an existing issuer: every finding fixed or acknowledged with a reason', () => {
    for (const props of [{ stage: 'dev' }, { stage: 'prod' }, { existingIssuer: { issuer: 'https://login.example.com', audience: ['app'] } }] as const) {
      const report = synthWithNag(props);
      expect(report.pluginReports.filter((r) => r.conclusion !== 'success')).toEqual([]);
    }
  });

  it('fails synth on an unacknowledged finding (the check is live)', () => {
    expect(() => synthWithNag({}, (stack) => new Secret(stack, 'Unrotated'))).toThrow(/AwsSolutions-SMG4/);
  });
});
