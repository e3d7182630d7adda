import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FunctionVariables } from '../../contracts/environment.js';
import type { HandlerFile } from '../../contracts/handlers.js';
import { acknowledge, policyOf, wildcardResource } from './nag.js';

export const HANDLERS_DIR = fileURLToPath(new URL('../../runtime/handlers/', import.meta.url));
/** Template metadata naming the handler file; the local stack binds every function through it. */
export const HANDLER_METADATA_KEY = 'video-pipeline:handler';

export interface HouseFunctionProps<H extends HandlerFile> extends Omit<
  NodejsFunctionProps,
  'entry' | 'runtime' | 'architecture' | 'role' | 'logGroup' | 'environment'
> {
  /** File name under runtime/handlers/, without extension. */
  handlerFile: H;
  /** What the handler reads (contracts/environment.ts), every required variable set. */
  environment: FunctionVariables<H>;
}

/**
 * Every function of the pipeline: Node 24 on arm64 (cheaper per GB-second), X-Ray tracing,
 * a log group with retention, and an esbuild bundle that is minified ESM with source maps.
 * Its role may write to its own log group only: no AWSLambdaBasicExecutionRole, which lets a
 * function create log groups and write to every one of them in the account.
 */
export class HouseFunction<H extends HandlerFile = HandlerFile> extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HouseFunctionProps<H>) {
    const { handlerFile, environment, bundling, ...rest } = props;
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `video-pipeline: runs the ${handlerFile} function`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: `${HANDLERS_DIR}${handlerFile}.ts`,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node24',
        mainFields: ['module', 'main'],
        // ESM bundles need require() for the few CommonJS dependencies that still call it.
        banner: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);",
        ...bundling,
      },
      ...rest,
    });
    (this.node.defaultChild as CfnFunction).addMetadata(HANDLER_METADATA_KEY, handlerFile);
    acknowledge(
      policyOf(this),
      wildcardResource(this, '*'),
      'X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, ' +
        'so IAM requires Resource "*"; test/infra/stack.test.ts checks that no other action of any role has a wildcard resource',
    );
  }
}
