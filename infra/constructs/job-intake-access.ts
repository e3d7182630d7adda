import type { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { MEDIA_PREFIXES, REQUEST_PREFIX } from '../../contracts/bucket.js';
import type { JobIntakeVariables } from '../../contracts/environment.js';
import { grantObjects } from './bucket-access.js';
import { acknowledge, objectsUnder, policyOf, resourcesOf, wildcardResource } from './nag.js';

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
  /** The stack's default webhook, for jobs that name none. */
  defaultWebhook?: { url: string; events: readonly string[] };
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
    ...(resources.defaultWebhook ? { WEBHOOK_URL: resources.defaultWebhook.url, WEBHOOK_EVENTS: resources.defaultWebhook.events.join(',') } : {}),
  };
}

export interface JobIntakeGrantOptions {
  /**
   * Media prefixes the function is granted more on, and acknowledges itself with a reason that covers
   * the media check as well (the upload trigger, for incoming/).
   */
  mediaPrefixesAcknowledgedByCaller?: readonly string[];
  /** Whether the function reads request bodies back too (the HTTP intake, for POST /jobs/{jobId}/rerun). */
  readsRequests?: boolean;
}

/** Record jobs, keep their request bodies, start their executions, announce the ones refused. */
export function grantJobIntake(grantee: IGrantable, resources: JobIntakeResources, options: JobIntakeGrantOptions = {}): void {
  resources.table.grantReadWriteData(grantee);
  acknowledge(
    policyOf(grantee),
    wildcardResource(resources.table, `${resources.table.tableArn}/index/*`),
    'grantJobIntake gives every job-creating function the Jobs table and its indexes (byStatus, byCreatedAt: listing jobs, ' +
      'counting those in flight, finding unfinished ones; byLine: the admission line); each projects the items the role already ' +
      'reads from the table itself, so index/* exposes nothing more',
  );
  // Taking and giving back slots, on the one item of the admission table.
  Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resourceArns: [resources.admission.tableArn] });
  grantObjects(resources.bucket, grantee, options.readsRequests ? ['s3:PutObject', 's3:GetObject'] : ['s3:PutObject'], REQUEST_PREFIX);
  acknowledge(
    policyOf(grantee),
    objectsUnder(resources.bucket, REQUEST_PREFIX),
    `${options.readsRequests ? 'PutObject and GetObject (a rerun reads the body of the job it repeats)' : 'PutObject only'}, under ${REQUEST_PREFIX}: ` +
      `each job keeps its body at ${REQUEST_PREFIX}<jobId>/<requestHash>.json, and job ids are made at run time, so the grant names the prefix, not a key`,
  );
  // The s3:// media a request names is checked (exists, type, size) before the job is recorded.
  grantObjects(resources.bucket, grantee, ['s3:GetObject'], ...MEDIA_PREFIXES);
  for (const prefix of MEDIA_PREFIXES) {
    if (options.mediaPrefixesAcknowledgedByCaller?.includes(prefix)) continue;
    acknowledge(
      policyOf(grantee),
      objectsUnder(resources.bucket, prefix),
      'GetObject only (a 16-byte ranged read), under the media prefixes: every job-creating function checks that the s3:// media a ' +
        'request names exists and is an image, video or audio file of the allowed size before it records the job; users choose those keys',
    );
  }
  resources.stateMachine.grantStartExecution(grantee);
  // Cancelling and sweeping stop or inspect the executions they started.
  const executions = resources.stateMachine.grantExecution(grantee, 'states:StopExecution', 'states:DescribeExecution');
  for (const resource of resourcesOf(executions)) {
    acknowledge(
      policyOf(grantee),
      wildcardResource(resources.stateMachine, resource),
      'StopExecution and DescribeExecution on executions of this one state machine; executions are named after job ids ' +
        '(and <jobId>-admission-N, <jobId>-resume-N) at run time, so the ARN ends in a wildcard for the name',
    );
  }
  resources.eventBus.grantPutEventsTo(grantee);
}
