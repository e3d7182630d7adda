import { Duration } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HouseFunction } from './house-function.js';

export interface IntakeApiProps {
  table: ITable;
  bucket: IBucket;
  stateMachine: IStateMachine;
  jobDeadline: Duration;
  providerModels: readonly string[];
}

/** The HTTP way in: API Gateway (IAM auth, SigV4) in front of the intake function. */
export class IntakeApi extends Construct {
  public readonly api: RestApi;
  public readonly handler: HouseFunction;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    this.handler = new HouseFunction(this, 'IntakeFunction', {
      handlerFile: 'intake',
      timeout: Duration.seconds(15),
      environment: {
        JOBS_TABLE: props.table.tableName,
        VIDEO_BUCKET: props.bucket.bucketName,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        JOB_DEADLINE_SECONDS: String(props.jobDeadline.toSeconds()),
        PROVIDER_MODELS: props.providerModels.join(','),
      },
    });
    props.table.grantReadWriteData(this.handler);
    props.bucket.grantPut(this.handler, 'requests/*');
    props.bucket.grantRead(this.handler, 'videos/*');
    props.stateMachine.grantStartExecution(this.handler);

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
    jobs.addResource('{jobId}').addMethod('GET', integration);
  }
}
