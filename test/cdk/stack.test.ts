/** The whole stack: least privilege across every policy, access lists → rights, stage lifecycles, outputs, cdk-nag. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ERASE_TABLE_ACTIONS, SYNC_INDEX_ACTIONS, SYNC_TABLE_ACTIONS } from '../../lib/data.js';
import { TABLE_KEYS } from '../../lambdas/adapters/dynamo/keys.js';
import { NOTIFICATIONS_HANDLER_ID } from '../../lib/processing.js';
import { SyncStack, type SyncStackProps } from '../../lib/stack.js';
import {
  actionsOf,
  appFunctions,
  fastApp,
  literals,
  logicalId,
  resources,
  statements,
  statementsOf,
  synthStack as synth,
  userObjectsArn,
  exportObjectsArn,
  type Statement,
} from './support.js';

const MODES = {
  'user pool': {},
  'existing issuer': { existingIssuer: { issuer: 'https://login.example.com', audience: ['app'] } },
} as const;

/** Roles CDK creates for its own deploy-time custom resources (S3 notifications; dev: bucket auto-delete). */
const CDK_DEPLOY_TIME_ROLES = [new RegExp(`^${NOTIFICATIONS_HANDLER_ID}Role`), /^CustomS3AutoDeleteObjectsCustomResourceProviderRole/];

describe('IAM', () => {
  for (const [mode, props] of Object.entries(MODES)) {
    const { stack, template } = synth(props);
    const uploadsObjects = userObjectsArn(logicalId(stack, stack.files.uploads));

    const exportObjects = exportObjectsArn(logicalId(stack, stack.files.uploads));

    it(`${mode}: no statement has a * action; the only * in a resource is the users/* or exports/* object prefix of the uploads bucket`, () => {
      const all = statements(template);
      expect(all.length).toBeGreaterThan(0);
      for (const s of all) {
        for (const action of [s.Action].flat()) expect(action, JSON.stringify(s)).not.toMatch(/\*/);
        for (const resource of [s.Resource].flat()) {
          expect(resource, JSON.stringify(s)).not.toBe('*');
          if (literals(resource).some((text) => text.includes('*'))) {
            // S3 object keys exist only at run time: the one wildcard, bounded to users/ or exports/ of one bucket.
            const roles = JSON.stringify((s as { roles?: unknown }).roles ?? []);
            const erases = roles.includes('AccountErase');
            if (JSON.stringify(resource) === JSON.stringify(exportObjects)) {
              // Export files: written and read by the export function, deleted by erasure; no other role.
              const exports = roles.includes('AccountExport');
              expect(erases || exports, JSON.stringify(s)).toBe(true);
              const allowed = [...(exports ? ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'] : []), ...(erases ? ['s3:DeleteObject'] : [])];
              expect([s.Action].flat().every((a) => allowed.includes(a)), JSON.stringify(s)).toBe(true);
              continue;
            }
            expect(resource, JSON.stringify(s)).toEqual(uploadsObjects);
            // Deleting objects: only account erasure's role.
            expect([s.Action].flat().every((a) => a === 's3:GetObject' || a === 's3:PutObject' || (erases && a === 's3:DeleteObject')), JSON.stringify(s)).toBe(true);
          }
        }
      }
      // No inline role policies bypass the check above.
      for (const [, role] of resources(template, 'AWS::IAM::Role')) expect(role.Properties.Policies).toBeUndefined();
    });

    it(`${mode}: the app's roles carry no managed policies; only CDK's deploy-time custom resources do (basic execution)`, () => {
      const appRoles = new Set(appFunctions(stack).map(({ fn }) => logicalId(stack, fn.role!)));
      for (const [id, role] of resources(template, 'AWS::IAM::Role')) {
        const managed = role.Properties.ManagedPolicyArns;
        if (appRoles.has(id) || !CDK_DEPLOY_TIME_ROLES.some((re) => re.test(id))) {
          expect(managed, id).toBeUndefined();
        } else {
          expect(managed, id).toHaveLength(1);
          expect(literals(managed).join(''), id).toMatch(/:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole$/);
        }
      }
    });
  }

  describe('each function gets exactly what its access list declares', () => {
    const { stack, template } = synth();
    const tableArn = { 'Fn::GetAtt': [logicalId(stack, stack.data.table), 'Arn'] };
    const indexArn = { 'Fn::Join': ['', [tableArn, `/index/${stack.data.updatedAtIndexName}`]] };
    const startedAtIndexArn = { 'Fn::Join': ['', [tableArn, `/index/${TABLE_KEYS.startedAtIndex.name}`]] };
    const liveIndexArn = { 'Fn::Join': ['', [tableArn, `/index/${TABLE_KEYS.liveIndex.name}`]] };
    const secretArn = { Ref: logicalId(stack, stack.cursorSecret.secret) };
    const uploadsObjects = userObjectsArn(logicalId(stack, stack.files.uploads));
    const uploadsBucket = { 'Fn::GetAtt': [logicalId(stack, stack.files.uploads), 'Arn'] };
    const exportObjects = exportObjectsArn(logicalId(stack, stack.files.uploads));
    const dlqArn = { 'Fn::GetAtt': [logicalId(stack, stack.processing.deadLetterQueue), 'Arn'] };
    // CDK merges statements with the same actions, so a statement may name several resources.
    const resourcesOf = (s: Statement) => [s.Resource].flat().map((r) => JSON.stringify(r));
    const on = (ss: readonly Statement[], arn: unknown) => actionsOf(ss.filter((s) => resourcesOf(s).includes(JSON.stringify(arn)))).sort();

    for (const { name, def, fn } of appFunctions(stack)) {
      it(`${name}: [${def.access.join(', ')}]`, () => {
        const own = statementsOf(stack, template, fn);
        const has = (a: (typeof def.access)[number]) => def.access.includes(a);
        expect(on(own, tableArn)).toEqual([...(has('table') ? SYNC_TABLE_ACTIONS : []), ...(has('table-erase') ? ERASE_TABLE_ACTIONS : [])].sort());
        expect(on(own, indexArn)).toEqual(has('table') ? [...SYNC_INDEX_ACTIONS] : []);
        expect(on(own, liveIndexArn)).toEqual(has('table') ? [...SYNC_INDEX_ACTIONS] : []);
        expect(on(own, startedAtIndexArn)).toEqual(has('activities-by-start') ? ['dynamodb:Query'] : []);
        expect(on(own, secretArn)).toEqual(has('cursor-secret') ? ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'] : []);
        expect(on(own, uploadsObjects)).toEqual([...(has('uploads-delete') ? ['s3:DeleteObject'] : []), ...(has('uploads-get') ? ['s3:GetObject'] : []), ...(has('uploads-put') ? ['s3:PutObject'] : [])]);
        // Readers may list the bucket, so a missing key answers 404 rather than 403.
        expect(on(own, uploadsBucket)).toEqual(has('uploads-list') ? ['s3:ListBucket'] : []);
        // Export files: only the export writes and reads them, only erasure deletes them.
        expect(on(own, exportObjects)).toEqual(
          [...(has('exports-write') ? ['s3:PutObject', 's3:AbortMultipartUpload'] : []), ...(has('exports-read') ? ['s3:GetObject'] : []), ...(has('exports-delete') ? ['s3:DeleteObject'] : [])].sort(),
        );
        expect(has('exports-write') || has('exports-read'), name).toBe(name === 'account-export');
        expect(has('exports-delete'), name).toBe(name === 'account-erase');
        // Besides: writing its own log group and, for the processor, sending failures to its DLQ.
        const known = [tableArn, indexArn, liveIndexArn, startedAtIndexArn, secretArn, uploadsObjects, uploadsBucket, exportObjects].map((arn) => JSON.stringify(arn));
        const rest = own.filter((s) => !resourcesOf(s).every((r) => known.includes(r)));
        const expectedRest = ['logs:CreateLogStream', 'logs:PutLogEvents', ...(fn === stack.processing.function ? ['sqs:SendMessage'] : [])];
        expect(actionsOf(rest).sort()).toEqual(expectedRest.sort());
        if (fn === stack.processing.function) expect(on(own, dlqArn)).toEqual(['sqs:SendMessage']);
      });
    }
  });

  it('sync functions: DynamoDB rights on the table (and its index) only, no S3 rights', () => {
    const { stack, template } = synth();
    const syncFunctions = appFunctions(stack).filter(({ def }) => !def.access.some((a) => a.startsWith('uploads-')));
    expect(syncFunctions.map((f) => f.name)).toEqual(expect.arrayContaining(['sync-pull', 'sync-push']));
    for (const { name, fn, def } of syncFunctions) {
      const actions = actionsOf(statementsOf(stack, template, fn));
      expect(actions.filter((a) => a.startsWith('s3:')), name).toEqual([]);
      // Only the pull signs cursors, so only it reads the cursor key.
      const services = def.access.includes('cursor-secret') ? ['logs', 'dynamodb', 'secretsmanager'] : ['logs', 'dynamodb'];
      expect(new Set(actions.map((a) => a.split(':')[0])), name).toEqual(new Set(services));
    }
  });

  it('bucket policies allow wildcard actions only to the dev auto-delete custom resource; prod has none', () => {
    const allows = (t: Template) =>
      resources(t, 'AWS::S3::BucketPolicy').flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) => s.Effect === 'Allow'));
    const wildcardAllows = (t: Template) => allows(t).filter((s) => [s.Action].flat().some((a) => a.includes('*')));
    for (const s of wildcardAllows(synth({ stage: 'dev' }).template)) {
      expect(JSON.stringify(s.Principal)).toMatch(/CustomS3AutoDeleteObjectsCustomResourceProviderRole/);
    }
    const prod = synth({ stage: 'prod' }).template;
    expect(wildcardAllows(prod)).toEqual([]);
    // What prod's bucket policies do allow: S3 log delivery into the access log bucket, nothing else.
    expect(allows(prod).map((s) => s.Principal)).toEqual([{ Service: 'logging.s3.amazonaws.com' }]);
  });
});

describe('stages', () => {
  const lifecycle = (template: Template, type: string) => resources(template, type).map(([, r]) => [r.DeletionPolicy, r.UpdateReplacePolicy]);
  const KEPT = ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket', 'AWS::SQS::Queue'];

  it('prod retains the table, the user pool, the logs, both buckets and the DLQ, with deletion protection and no auto-delete', () => {
    const { template } = synth({ stage: 'prod' });
    for (const type of KEPT) {
      expect(lifecycle(template, type).length, type).toBeGreaterThan(0);
      expect(lifecycle(template, type).every(([d, u]) => d === 'Retain' && u === 'Retain'), type).toBe(true);
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'ACTIVE' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('dev destroys them, without deletion protection, and empties both buckets first', () => {
    const { stack, template } = synth({ stage: 'dev' });
    for (const type of KEPT) {
      expect(lifecycle(template, type).length, type).toBeGreaterThan(0);
      expect(lifecycle(template, type).every(([d, u]) => d === 'Delete' && u === 'Delete'), type).toBe(true);
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    template.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'INACTIVE' });
    const emptied = resources(template, 'Custom::S3AutoDeleteObjects').map(([, r]) => r.Properties.BucketName);
    expect(emptied).toEqual(expect.arrayContaining([{ Ref: logicalId(stack, stack.files.uploads) }, { Ref: logicalId(stack, stack.files.accessLogs) }]));
    expect(emptied).toHaveLength(2);
  });
});

describe('user pool mail', () => {
  it('goes through SES from the given verified sender; prod without one gets a synth warning, dev does not', () => {
    const { template } = synth({ stage: 'prod', sesFromEmail: 'no-reply@runningcoach.example', sesRegion: 'eu-west-1' });
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      EmailConfiguration: { EmailSendingAccount: 'DEVELOPER', From: 'RunningCoach <no-reply@runningcoach.example>', SourceArn: Match.anyValue() },
    });
    const warnings = (props: Partial<SyncStackProps>) =>
      Annotations.fromStack(synth(props).stack).findWarning('*', Match.stringLikeRegexp('sesFromEmail')).length;
    expect(warnings({ stage: 'prod' })).toBe(1);
    expect(warnings({ stage: 'prod', sesFromEmail: 'no-reply@runningcoach.example', sesRegion: 'eu-west-1' })).toBe(0);
    expect(warnings({ stage: 'dev' })).toBe(0);
  });
});

describe('outputs', () => {
  it('publish the API URL, user pool ids, table, uploads bucket, DLQ URL, server-write queue and event bus', () => {
    const { stack, template } = synth();
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      ['ApiUrl', 'DeadLetterQueueUrl', 'EventBusArn', 'EventBusName', 'ServerWriteQueueArn', 'ServerWriteQueueUrl', 'TableName', 'UploadsBucketName', 'UserPoolClientId', 'UserPoolId'].sort(),
    );
    expect(outputs.ServerWriteQueueUrl!.Value).toEqual({ Ref: logicalId(stack, stack.serverWrites.queue) });
    expect(outputs.EventBusName!.Value).toEqual({ Ref: logicalId(stack, stack.changeFeed.bus) });
    expect(outputs.UploadsBucketName!.Value).toEqual({ Ref: logicalId(stack, stack.files.uploads) });
    expect(outputs.DeadLetterQueueUrl!.Value).toEqual({ Ref: logicalId(stack, stack.processing.deadLetterQueue) });
    expect(outputs.TableName!.Value).toEqual({ Ref: logicalId(stack, stack.data.table) });
    expect(JSON.stringify(outputs.ApiUrl!.Value)).toContain('.execute-api.');
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

  it('passes on dev, prod, with an existing issuer and with an alarm topic: every finding fixed or acknowledged with a reason', () => {
    const variants: Partial<SyncStackProps>[] = [
      { stage: 'dev' },
      { stage: 'prod' },
      MODES['existing issuer'],
      { stage: 'prod', alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' },
    ];
    for (const props of variants) {
      const report = synthWithNag(props);
      expect(report.pluginReports.filter((r) => r.conclusion !== 'success'), JSON.stringify(props)).toEqual([]);
    }
  });

  it('fails synth on an unacknowledged finding (the check is live)', () => {
    expect(() => synthWithNag({}, (stack) => new Secret(stack, 'Unrotated'))).toThrow(/AwsSolutions-SMG4/);
  });

  it('the users/* acknowledgement covers that object prefix only: another wildcard on the same role still fails', () => {
    const wholeBucket = (stack: SyncStack) =>
      Grant.addToPrincipal({ grantee: stack.processing.function, actions: ['s3:GetObject'], resourceArns: [stack.files.uploads.arnForObjects('*')] });
    expect(() => synthWithNag({}, wholeBucket)).toThrow(/AwsSolutions-IAM5\[Resource::<FilesUploads\w+\.Arn>\/\*\]/);
  });
});
