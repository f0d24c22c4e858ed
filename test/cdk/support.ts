/** Shared helpers of the CDK template tests: a fast app, the stack under test, IAM statement views. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { API_ROUTES, EVENT_HANDLERS, type HandlerDef } from '../../lambdas/routes.js';
import { SyncStack, type SyncStackProps } from '../../lib/stack.js';

/** The feature flags of cdk.json, so tests synthesize what `cdk synth` does. */
export const flags = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

/**
 * Where this test file's apps write their cloud assemblies: without an outdir each App makes a
 * `cdk.out…` folder in the system temp dir and nothing ever removes it.
 */
let assemblies: string | undefined;
afterAll(() => {
  if (assemblies) rmSync(assemblies, { recursive: true, force: true });
});
function assemblyDir(): string {
  assemblies ??= mkdtempSync(join(tmpdir(), 'rc-cdk-test-'));
  return mkdtempSync(join(assemblies, 'app-'));
}

/** No bundling (NodejsFunction still checks that the entry exists), no CloudFormation validator. */
export const fastApp = (outdir?: string) =>
  new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false, outdir: outdir ?? assemblyDir() });

export function synthStack(props: Partial<SyncStackProps> = {}, id = 'StackTest') {
  const stack = new SyncStack(fastApp(), id, { stage: 'dev', ...props });
  return { stack, template: Template.fromStack(stack) };
}

/** Every app function with the access list it was built from: API handlers by module, then the processor. */
export function appFunctions(stack: SyncStack): { name: string; def: HandlerDef; fn: IFunction }[] {
  const api = [...stack.api.functions].map(([name, fn]) => ({ name, def: API_ROUTES.find((r) => r.handler === name)!, fn }));
  return [...api, { name: 'fit-process', def: EVENT_HANDLERS.fitProcess, fn: stack.processing.function }];
}

export const logicalId = (stack: Stack, construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}
export type Resource = { Type?: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string[] };

export const resources = (t: Template, type: string) => Object.entries(t.findResources(type) as Record<string, Resource>);

/** Every statement of every AWS::IAM::Policy, with the roles it is attached to. */
export function statements(template: Template): (Statement & { roles: string[] })[] {
  return resources(template, 'AWS::IAM::Policy').flatMap(([, p]) => {
    const roles = ((p.Properties.Roles ?? []) as { Ref: string }[]).map((r) => r.Ref);
    return (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement.map((s) => ({ ...s, roles }));
  });
}

/** Statements of the role of `fn`. */
export function statementsOf(stack: Stack, template: Template, fn: IFunction) {
  const roleId = logicalId(stack, fn.role!);
  return statements(template).filter((s) => s.roles.includes(roleId));
}

export const actionsOf = (ss: readonly Statement[]) => ss.flatMap((s) => [s.Action].flat());

/** The literal strings of a resource expression (intrinsics resolve to their resource's own ARN). */
export const literals = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(literals) : v && typeof v === 'object' ? Object.values(v).flatMap(literals) : [];

/** `arn:…:s3:::<bucket>/exports/*` as the template writes it. */
export const exportObjectsArn = (bucketId: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/exports/*']] });
/** `arn:…:s3:::<bucket>/users/*` as the template writes it. */
export const userObjectsArn = (bucketId: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/users/*']] });
