/**
 * One Lambda per handler module under `lambdas/handlers/`, with the secure defaults every
 * function of the app shares: Node 22 on arm64, ESM bundle built by the local esbuild (no
 * Docker), minified with source maps, AWS SDK v3 left to the runtime, its own log group with a
 * retention, and its own role that may only write to that log group until granted more.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { HANDLER_BUNDLE } from './bundling.js';
import { API_HANDLER_MEMORY_MB, API_HANDLER_TIMEOUT_S } from './handler-sizing.js';
import { removalPolicyFor, type Stage } from './stage.js';

/** `lambdas/handlers/`, resolved from this file so synth works from any working directory. */
export const HANDLERS_DIR = fileURLToPath(new URL('../lambdas/handlers/', import.meta.url));

/** Same value as SERVICE_NAME in lambdas/runtime.ts (not imported: it would load Powertools and the SDK into the CDK app). */
export const SERVICE_NAME = 'runningcoach-sync';

export interface HandlerFunctionProps {
  readonly stage: Stage;
  /** Module name under `lambdas/handlers/` (`sync-pull` → `lambdas/handlers/sync-pull.ts`), exporting `handler`. */
  readonly handler: string;
  /** Environment on top of POWERTOOLS_SERVICE_NAME and NODE_OPTIONS. */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * Keep above MAX_PUSH_MS (config, 20 s by default) and at or below the HTTP API's 30 s
   * integration timeout.
   * @default Duration.seconds(29)
   */
  readonly timeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default undefined - no reserved concurrency */
  readonly reservedConcurrentExecutions?: number;
}

export class HandlerFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: removalPolicyFor(props.stage),
    });
    // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy (cdk-nag IAM4):
    // writing to its own log group is the only right a handler starts with.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.handler} handler (${props.stage})`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${HANDLERS_DIR}${props.handler}.ts`,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? API_HANDLER_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(API_HANDLER_TIMEOUT_S),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      // lib/bundling.ts (shared with the bench): ESM for node22, minified, source map beside
      // the bundle without sources, AWS SDK v3 external.
      bundling: {
        format: HANDLER_BUNDLE.format as OutputFormat,
        mainFields: [...HANDLER_BUNDLE.mainFields],
        banner: HANDLER_BUNDLE.banner,
        target: HANDLER_BUNDLE.target,
        minify: HANDLER_BUNDLE.minify,
        sourceMap: HANDLER_BUNDLE.sourceMap,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: HANDLER_BUNDLE.sourcesContent,
        externalModules: [...HANDLER_BUNDLE.externalModules],
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x, the runtime the handlers are built and tested for (esbuild target node22); ' +
        'moving to nodejs24.x is a deliberate upgrade with its own test run, not a synth-time default.',
    });
  }
}
