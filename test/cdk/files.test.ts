/** Files construct: the uploads bucket and its access log bucket, per stage, and grantFor's exact rights. */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { EXPORTS_PREFIX, Files } from '../../lib/files.js';
import { EXPORTS_KEY_PREFIX, exportObjectKey, uploadObjectKey } from '../../lambdas/core/uploads.js';
import type { Stage } from '../../lib/stage.js';
import { fastApp, logicalId, resources, statements, userObjectsArn } from './support.js';

function filesStack(stage: Stage) {
  const stack = new Stack(fastApp(), 'FilesTest');
  const files = new Files(stack, 'Files', { stage });
  const putter = new Role(stack, 'Putter', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  const getter = new Role(stack, 'Getter', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  const bystander = new Role(stack, 'Bystander', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  const exporter = new Role(stack, 'Exporter', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  const eraser = new Role(stack, 'Eraser', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  files.grantFor(putter, 'uploads-put');
  files.grantFor(getter, 'uploads-get');
  files.grantFor(exporter, 'exports-write');
  files.grantFor(exporter, 'exports-read');
  files.grantFor(eraser, 'exports-delete');
  const template = Template.fromStack(stack);
  const ids = { uploads: logicalId(stack, files.uploads), logs: logicalId(stack, files.accessLogs) };
  const bucket = (id: string) => template.findResources('AWS::S3::Bucket')[id] as { Properties: Record<string, unknown>; DeletionPolicy: string };
  return { stack, files, template, ids, bucket, roles: { putter, getter, bystander, exporter, eraser } };
}

describe('Files (dev)', () => {
  const { stack, template, ids, bucket, roles } = filesStack('dev');

  it('has two buckets: uploads, and the server access logs of uploads', () => {
    template.resourceCountIs('AWS::S3::Bucket', 2);
    expect(bucket(ids.uploads).Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: ids.logs }, LogFilePrefix: 'uploads/' });
  });

  it('both: public access blocked, SSE-S3, ACLs disabled, no CORS', () => {
    for (const id of [ids.uploads, ids.logs]) {
      expect(bucket(id).Properties).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      expect(bucket(id).Properties.CorsConfiguration, id).toBeUndefined();
    }
  });

  it('both: deny any request without TLS, or with TLS older than 1.2', () => {
    for (const id of [ids.uploads, ids.logs]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
          ]),
        },
      });
    }
  });

  it('uploads: versioned; incomplete multipart uploads aborted after a day, old versions expired after 30; export files (and their old versions) expired after a day, on their prefix only', () => {
    expect(bucket(ids.uploads).Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          { Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
          { Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true },
          { Id: 'expire-account-exports', Status: 'Enabled', Prefix: EXPORTS_KEY_PREFIX, ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
        ],
      },
    });
    // The rule's prefix is the one the export keys are built under, and no upload key is.
    expect(EXPORTS_PREFIX).toBe(EXPORTS_KEY_PREFIX);
    expect(exportObjectKey('u-1', 'abc').startsWith(EXPORTS_PREFIX)).toBe(true);
    expect(uploadObjectKey({ userId: 'u-1', kind: 'fit', uploadId: 'abc' }).startsWith(EXPORTS_PREFIX)).toBe(false);
  });

  it('access logs: not versioned, expire after a year, written by S3 log delivery for the uploads bucket only', () => {
    expect(bucket(ids.logs).Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket(ids.logs).Properties.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
        { Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: 365 },
      ],
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.logs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.logs, 'Arn'] }, '/uploads/*']] },
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [ids.uploads, 'Arn'] } }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ]),
      },
    });
  });

  it('dev: both buckets deleted with the stack, emptied first by the auto-delete custom resource', () => {
    for (const id of [ids.uploads, ids.logs]) expect(bucket(id).DeletionPolicy).toBe('Delete');
    const emptied = resources(template, 'Custom::S3AutoDeleteObjects').map(([, r]) => r.Properties.BucketName);
    expect(emptied).toEqual(expect.arrayContaining([{ Ref: ids.uploads }, { Ref: ids.logs }]));
  });

  it('grantFor: uploads-put → s3:PutObject, uploads-get → s3:GetObject, on users/* of the uploads bucket only', () => {
    const of = (role: Role) => statements(template).filter((s) => s.roles.includes(logicalId(stack, role)));
    expect(of(roles.putter).map(({ Effect, Action, Resource }) => ({ Effect, Action, Resource }))).toEqual([
      { Effect: 'Allow', Action: 's3:PutObject', Resource: userObjectsArn(ids.uploads) },
    ]);
    expect(of(roles.getter).map(({ Effect, Action, Resource }) => ({ Effect, Action, Resource }))).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: userObjectsArn(ids.uploads) },
    ]);
    expect(of(roles.bystander)).toEqual([]);
  });

  it('grantFor: exports-write → s3:PutObject + s3:AbortMultipartUpload, exports-read → s3:GetObject, exports-delete → s3:DeleteObject, on exports/* only', () => {
    const of = (role: Role) => statements(template).filter((s) => s.roles.includes(logicalId(stack, role)));
    const exportsArn = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.uploads, 'Arn'] }, '/exports/*']] };
    expect(of(roles.exporter).map(({ Effect, Action, Resource }) => ({ Effect, Action, Resource }))).toEqual([
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], Resource: exportsArn },
    ]);
    expect(of(roles.eraser).map(({ Effect, Action, Resource }) => ({ Effect, Action, Resource }))).toEqual([{ Effect: 'Allow', Action: 's3:DeleteObject', Resource: exportsArn }]);
    // Neither reaches users/* (uploads), and the upload roles do not reach exports/*.
    for (const role of [roles.exporter, roles.eraser]) expect(JSON.stringify(of(role))).not.toContain('/users/*');
    for (const role of [roles.putter, roles.getter]) expect(JSON.stringify(of(role))).not.toContain('/exports/*');
  });
});

describe('Files (prod)', () => {
  const { template, ids, bucket } = filesStack('prod');

  it('retains both buckets and never empties them', () => {
    for (const id of [ids.uploads, ids.logs]) {
      expect(bucket(id).DeletionPolicy, id).toBe('Retain');
      expect((bucket(id).Properties.Tags ?? []) as unknown[], id).not.toContainEqual({ Key: 'aws-cdk:auto-delete-objects', Value: 'true' });
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('keeps the same protections as dev', () => {
    expect(bucket(ids.uploads).Properties).toMatchObject({ VersioningConfiguration: { Status: 'Enabled' }, LoggingConfiguration: { DestinationBucketName: { Ref: ids.logs } } });
  });
});
