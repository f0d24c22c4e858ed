/**
 * Deployment stage and the context the app reads (`-c stage=dev|prod`, optional
 * `-c jwtIssuer=… -c jwtAudience=…`, optional `-c alarmTopicArn=…`, optional
 * `-c sesFromEmail=… -c sesRegion=…`), validated together once:
 * every problem in one error.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Node } from 'constructs';

export const STAGES = ['dev', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

/** prod keeps its data when the stack or resource goes away; dev is destroyable. */
export const removalPolicyFor = (stage: Stage): RemovalPolicy => (stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

/** A JWT issuer the stack trusts instead of creating its own Cognito user pool. */
export interface ExistingIssuer {
  /** OIDC issuer URL (https), e.g. `https://cognito-idp.<region>.amazonaws.com/<poolId>`. */
  readonly issuer: string;
  /** Accepted `aud` (ID tokens) or `client_id` (Cognito access tokens) values. */
  readonly audience: readonly string[];
}

export interface StageContext {
  readonly stage: Stage;
  /** @default undefined - the stack creates a user pool and an app client */
  readonly existingIssuer?: ExistingIssuer;
  /**
   * An existing SNS topic (the team's paging/chat channel) that receives ALARM and OK
   * transitions of every alarm.
   * @default undefined - alarms notify no one
   */
  readonly alarmTopicArn?: string;
  /**
   * A sender address verified in Amazon SES (same region): the user pool sends its verification
   * and recovery mail through SES. Cognito's own sender is capped at 50 mails a day, fine for dev,
   * not for prod (synth warns on prod without it).
   * @default undefined - Cognito's default sender
   */
  readonly sesFromEmail?: string;
  /** The SES region of `sesFromEmail` (the app is environment-agnostic, so it must be named). */
  readonly sesRegion?: string;
}

/** Reads and checks the app context. `stage` defaults to `dev`; issuer and audience come as a pair. */
export function readStageContext(node: Node): StageContext {
  const text = (key: string): string | undefined => {
    const v: unknown = node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const problems: string[] = [];
  const stage = text('stage') ?? 'dev';
  if (!(STAGES as readonly string[]).includes(stage)) problems.push(`stage must be one of ${STAGES.join('|')}, not '${stage}'`);

  const issuer = text('jwtIssuer');
  const audience = (text('jwtAudience') ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  if (issuer !== undefined && audience.length === 0) problems.push('jwtIssuer needs jwtAudience (comma-separated client ids)');
  if (issuer === undefined && audience.length > 0) problems.push('jwtAudience needs jwtIssuer');
  if (issuer !== undefined && !/^https:\/\/[^\s/]+/.test(issuer)) problems.push(`jwtIssuer must be an https URL, not '${issuer}'`);

  const alarmTopicArn = text('alarmTopicArn');
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(alarmTopicArn)) {
    problems.push(`alarmTopicArn must be an SNS topic ARN, not '${alarmTopicArn}'`);
  }

  const sesFromEmail = text('sesFromEmail');
  if (sesFromEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(sesFromEmail)) problems.push(`sesFromEmail must be an e-mail address, not '${sesFromEmail}'`);
  if (sesFromEmail !== undefined && issuer !== undefined) problems.push('sesFromEmail configures the stack\'s own user pool; it has none with jwtIssuer');
  const sesRegion = text('sesRegion');
  if ((sesFromEmail === undefined) !== (sesRegion === undefined)) problems.push('sesFromEmail and sesRegion come together');
  if (sesRegion !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(sesRegion)) problems.push(`sesRegion must be a region name, not '${sesRegion}'`);

  if (problems.length > 0) throw new Error(`invalid context: ${problems.join('; ')}`);
  return { stage: stage as Stage, existingIssuer: issuer === undefined ? undefined : { issuer, audience }, alarmTopicArn, sesFromEmail, sesRegion };
}
