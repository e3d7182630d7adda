import { Duration } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { VIDEO_PREFIX } from '../../contracts/bucket.js';
import { HANDLER } from '../../contracts/handlers.js';
import { grantObjects } from './bucket-access.js';
import { HouseFunction } from './house-function.js';
import { grantJobIntake, jobIntakeEnvironment, type JobIntakeResources } from './job-intake-access.js';

export type IntakeApiProps = JobIntakeResources;

/** The HTTP way in: API Gateway (IAM auth, SigV4) in front of the intake function. */
export class IntakeApi extends Construct {
  public readonly api: RestApi;
  public readonly handler: HouseFunction;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    this.handler = new HouseFunction(this, 'IntakeFunction', {
      handlerFile: HANDLER.intake,
      timeout: Duration.seconds(15),
      environment: jobIntakeEnvironment(props),
    });
    grantJobIntake(this.handler, props);
    // Presigned download links are signed with the intake's own permission to read the videos.
    grantObjects(props.bucket, this.handler, ['s3:GetObject'], VIDEO_PREFIX);

    this.api = new RestApi(this, 'Api', {
      description: 'video-pipeline: submit video jobs and follow them',
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        loggingLevel: MethodLoggingLevel.ERROR,
        accessLogDestination: new LogGroupLogDestination(
          new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH }),
        ),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      cloudWatchRole: true,
    });
    const integration = new LambdaIntegration(this.handler);
    const jobs = this.api.root.addResource('jobs');
    jobs.addMethod('POST', integration);
    jobs.addMethod('GET', integration);
    const job = jobs.addResource('{jobId}');
    job.addMethod('GET', integration);
    job.addMethod('DELETE', integration);
    // The API's OpenAPI document, served by the intake: IAM like every other route (it is the same API,
    // and its callers sign anyway); the same document is committed as openapi.json for everyone else.
    this.api.root.addResource('openapi.json').addMethod('GET', integration);
  }
}
