import { Duration } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  type CfnMethod,
  type IResource,
  type Integration,
  LambdaIntegration,
  type MethodOptions,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { VIDEO_PREFIX } from '../../contracts/bucket.js';
import { PROVIDER_GENERATIONS_PATH } from '../../contracts/drop-in.js';
import { HANDLER } from '../../contracts/handlers.js';
import { grantObjects } from './bucket-access.js';
import { HouseFunction } from './house-function.js';
import { grantJobIntake, jobIntakeEnvironment, type JobIntakeResources } from './job-intake-access.js';
import { acknowledge, objectsUnder, policyOf } from './nag.js';

export type IntakeApiProps = JobIntakeResources;

/**
 * `POST /v1/video/generations` and `GET /v1/video/generations/{task_id}` under `root`, proxied to the
 * intake, each with the authorization of `options` (the API's default when none is given).
 */
export function addProviderRoutes(root: IResource, integration: Integration, options?: MethodOptions): void {
  const generations = root.resourceForPath(PROVIDER_GENERATIONS_PATH);
  generations.addMethod('POST', integration, options);
  generations.addResource('{task_id}').addMethod('GET', integration, options);
}

/** The HTTP way in: API Gateway (IAM auth, SigV4) in front of the intake function. */
export class IntakeApi extends Construct {
  public readonly api: RestApi;
  public readonly handler: HouseFunction;
  /** API Gateway's account-level logging role (AWS::ApiGateway::Account) this API sets: every stage that logs needs it first. */
  public readonly logsAccount: IConstruct;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    this.handler = new HouseFunction(this, 'IntakeFunction', {
      handlerFile: HANDLER.intake,
      timeout: Duration.seconds(15),
      environment: jobIntakeEnvironment(props),
    });
    grantJobIntake(this.handler, props, { readsRequests: true });
    // Presigned download links are signed with the intake's own permission to read the videos.
    grantObjects(props.bucket, this.handler, ['s3:GetObject'], VIDEO_PREFIX);
    acknowledge(
      policyOf(this.handler),
      objectsUnder(props.bucket, VIDEO_PREFIX),
      'The intake presigns GET links to finished videos (GET /jobs/{jobId} downloadUrl); any video of any job may be asked for, ' +
        `so the grant names the ${VIDEO_PREFIX} prefix; it is read-only`,
    );

    this.api = new RestApi(this, 'Api', {
      description: 'video-pipeline: submit video jobs and follow them',
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        loggingLevel: MethodLoggingLevel.ERROR,
        accessLogDestination: new LogGroupLogDestination(new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH })),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      cloudWatchRole: true,
    });
    this.logsAccount = this.api.node.findChild('Account');
    const integration = new LambdaIntegration(this.handler);
    const jobs = this.api.root.addResource('jobs');
    jobs.addMethod('POST', integration);
    jobs.addMethod('GET', integration);
    const job = jobs.addResource('{jobId}');
    job.addMethod('GET', integration);
    job.addMethod('DELETE', integration);
    job.addResource('rerun').addMethod('POST', integration);
    // The API's OpenAPI document, served by the intake: IAM like every other route (it is the same API,
    // and its callers sign anyway); the same document is committed as openapi.json for everyone else.
    this.api.root.addResource('openapi.json').addMethod('GET', integration);
    // The provider's own routes, in its shapes (README, Drop-in provider API), for SigV4 callers; the
    // drop-in API (drop-in-api.ts) serves the same routes to Bearer tokens.
    addProviderRoutes(this.api.root, integration);

    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      'The intake function validates every request with the zod request schema and answers 4xx naming each bad field ' +
        '({ error: { code, issues[].path } }); an API Gateway validator would answer its own { message } body first and break that contract',
    );
    acknowledge(
      this.api.deploymentStage,
      'AwsSolutions-APIG3',
      'Every method requires SigV4 (IAM): unsigned or unauthorized requests are refused by API Gateway before they reach a function, ' +
        'and the stage is throttled (50 rps, burst 100); a WAF web ACL (about $6/month before requests) adds little to that here',
    );
    for (const method of this.api.methods) {
      // Only IAM-authorized methods: a method without authorization must surface its own findings.
      if ((method.node.defaultChild as CfnMethod).authorizationType !== AuthorizationType.IAM) continue;
      acknowledge(
        method,
        'AwsSolutions-COG4',
        'The method uses IAM (SigV4) authorization, chosen over Cognito (README, Deploy): the users already hold AWS credentials ' +
          'and access is granted per role with execute-api:Invoke',
      );
    }
    acknowledge(
      this.api.node.findChild('CloudWatchRole'),
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "API Gateway's account-level logging role (AWS::ApiGateway::Account), which the stage's execution and access logs need; " +
        'AWS documents this managed policy for it and maintains its log actions',
    );
  }
}
