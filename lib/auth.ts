/**
 * Auth: who may call the API. Either a Cognito user pool with a public app client for the
 * mobile app (created here), or an existing OIDC issuer and audience passed in. Both give one
 * JWT authorizer; handlers trust only its verified `sub` claim.
 */
import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import type { IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AccountRecovery, FeaturePlan, Mfa, UserPool, UserPoolEmail, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { removalPolicyFor, type ExistingIssuer, type Stage } from './stage.js';

export interface AuthProps {
  readonly stage: Stage;
  /** @default undefined - create a user pool and an app client */
  readonly existingIssuer?: ExistingIssuer;
  /** A sender verified in SES for the pool's mail. @default undefined - Cognito's sender (50 mails/day) */
  readonly sesFromEmail?: string;
  /** Region of the SES identity (required with `sesFromEmail`). */
  readonly sesRegion?: string;
}

export class Auth extends Construct {
  /** The JWT authorizer every route uses. */
  public readonly authorizer: IHttpRouteAuthorizer;
  /** Undefined when an existing issuer is used. */
  public readonly userPool?: UserPool;
  /** Undefined when an existing issuer is used. */
  public readonly userPoolClient?: UserPoolClient;

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);
    if (props.existingIssuer) {
      const { issuer, audience } = props.existingIssuer;
      this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', issuer, { jwtAudience: [...audience] });
      return;
    }

    this.userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: FeaturePlan.ESSENTIALS,
      deletionProtection: props.stage === 'prod',
      removalPolicy: removalPolicyFor(props.stage),
      ...(props.sesFromEmail ? { email: UserPoolEmail.withSES({ fromEmail: props.sesFromEmail, fromName: 'RunningCoach', sesRegion: props.sesRegion }) } : {}),
    });
    if (!props.sesFromEmail && props.stage === 'prod') {
      Annotations.of(this.userPool).addWarningV2(
        'runningcoach:cognito-default-email',
        "Cognito's default sender is limited to 50 mails a day: pass -c sesFromEmail=<address verified in SES> -c sesRegion=<its region> for prod.",
      );
    }
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is optional (TOTP offered, no SMS): runners sign in on their own phone, and forcing a second factor on ' +
        'every device login would block offline-first onboarding; the strong password policy (COG1) stays enforced.',
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'Essentials feature plan: the Plus plan (threat protection) is billed per monthly active user; revisit when ' +
        'the user base justifies it. Deployments with their own IdP pass jwtIssuer/jwtAudience instead.',
    });

    // Public client for the mobile app: SRP sign-in, no secret (it cannot be kept on a device),
    // no hosted-UI OAuth flows, short-lived access tokens, revocable refresh tokens.
    this.userPoolClient = this.userPool.addClient('MobileClient', {
      generateSecret: false,
      authFlows: { userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });
    this.authorizer = new HttpUserPoolAuthorizer('JwtAuthorizer', this.userPool, { userPoolClients: [this.userPoolClient] });
  }
}
