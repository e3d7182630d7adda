import type { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { MEDIA_PREFIXES, REQUEST_PREFIX } from '../../contracts/bucket.js';
import type { JobIntakeVariables } from '../../contracts/environment.js';
import { grantObjects } from './bucket-access.js';

/** What any function that creates jobs (HTTP intake, upload trigger, batch runner) works with. */
export interface JobIntakeResources {
  table: ITable;
  bucket: IBucket;
  stateMachine: IStateMachine;
  eventBus: IEventBus;
  jobDeadline: Duration;
  providerModels: readonly string[];
  /** The admission slots every job-creating function dispatches under. */
  admission: ITable;
  maxJobsInFlight: number;
  maxQueue: Duration;
}

export function jobIntakeEnvironment(resources: JobIntakeResources): JobIntakeVariables {
  return {
    JOBS_TABLE: resources.table.tableName,
    VIDEO_BUCKET: resources.bucket.bucketName,
    STATE_MACHINE_ARN: resources.stateMachine.stateMachineArn,
    JOB_DEADLINE_SECONDS: String(resources.jobDeadline.toSeconds()),
    PROVIDER_MODELS: resources.providerModels.join(','),
    EVENT_BUS_NAME: resources.eventBus.eventBusName,
    ADMISSION_TABLE: resources.admission.tableName,
    MAX_JOBS_IN_FLIGHT: String(resources.maxJobsInFlight),
    MAX_QUEUE_SECONDS: String(resources.maxQueue.toSeconds()),
  };
}

/** Record jobs, keep their request bodies, start their executions, announce the ones refused. */
export function grantJobIntake(grantee: IGrantable, resources: JobIntakeResources): void {
  resources.table.grantReadWriteData(grantee);
  // Taking and giving back slots, on the one item of the admission table.
  Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resourceArns: [resources.admission.tableArn] });
  grantObjects(resources.bucket, grantee, ['s3:PutObject'], REQUEST_PREFIX);
  // The s3:// media a request names is checked (exists, type, size) before the job is recorded.
  grantObjects(resources.bucket, grantee, ['s3:GetObject'], ...MEDIA_PREFIXES);
  resources.stateMachine.grantStartExecution(grantee);
  // Cancelling and sweeping stop or inspect the executions they started.
  resources.stateMachine.grantExecution(grantee, 'states:StopExecution', 'states:DescribeExecution');
  resources.eventBus.grantPutEventsTo(grantee);
}
