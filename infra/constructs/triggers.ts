import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACCEPTED_PREFIX, MANIFEST_PREFIX, REJECTED_PREFIX, UPLOAD_MEDIA_PREFIX, UPLOAD_PREFIX } from '../../contracts/bucket.js';
import { HANDLER } from '../../contracts/handlers.js';
import { grantList, grantObjects } from './bucket-access.js';
import { HouseFunction } from './house-function.js';
import { grantJobIntake, jobIntakeEnvironment, type JobIntakeResources } from './job-intake-access.js';
import { acknowledge, objectsUnder, policyOf } from './nag.js';

export interface JobTriggersProps extends JobIntakeResources {
  manifests: ITable;
  /** An EventBridge schedule expression: `rate(15 minutes)`, `cron(0 2 * * ? *)`. */
  batchSchedule: string;
}

/**
 * The two ways in besides HTTP. Uploads: S3 sends Object Created to EventBridge (covering PUT, copy
 * and multipart uploads), a rule keeps `incoming/` of our bucket, and the trigger function gets it
 * with retries and a dead-letter queue. Batches: a manifest upload, and a schedule as the backstop,
 * run the batch function, one at a time; it puts the work in the admission line.
 */
export class JobTriggers extends Construct {
  public readonly uploadTrigger: HouseFunction;
  public readonly uploadRule: Rule;
  public readonly uploadDeadLetters: Queue;
  public readonly batchRunner: HouseFunction;
  public readonly batchRule: Rule;
  public readonly manifestRule: Rule;

  constructor(scope: Construct, id: string, props: JobTriggersProps) {
    super(scope, id);
    this.uploadDeadLetters = new Queue(this, 'UploadDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.uploadTrigger = new HouseFunction(this, 'UploadTriggerFunction', {
      handlerFile: HANDLER.uploadTrigger,
      timeout: Duration.seconds(60),
      environment: jobIntakeEnvironment(props),
      // The rule's dead-letter queue only catches events EventBridge could not hand over; an upload the
      // function itself failed on (after Lambda's own two retries) lands in the same queue from here.
      deadLetterQueue: this.uploadDeadLetters,
      retryAttempts: 2,
    });
    // Its media check on incoming/ is acknowledged below, with the rest of what it does there.
    grantJobIntake(this.uploadTrigger, props, { mediaPrefixesAcknowledgedByCaller: [UPLOAD_PREFIX] });
    // An upload is read, then moved (CopyObject, which copies its tags, then DeleteObject) to
    // accepted/ or rejected/, with a reason file beside a rejected one. Every request names the version
    // its event announced: with If-Match (S3 checks a conditional DeleteObject's ETag only for a caller
    // that may read the object: s3:GetObject), or, should the bucket ever be versioned, its version id.
    grantObjects(
      props.bucket,
      this.uploadTrigger,
      ['s3:GetObject', 's3:GetObjectTagging', 's3:DeleteObject', 's3:GetObjectVersion', 's3:GetObjectVersionTagging', 's3:DeleteObjectVersion'],
      UPLOAD_PREFIX,
    );
    grantObjects(props.bucket, this.uploadTrigger, ['s3:PutObject', 's3:PutObjectTagging'], ACCEPTED_PREFIX, REJECTED_PREFIX);
    // An image job's own copy of its image (media/uploads/<jobId>/...), made before the job is
    // validated: a refused one's copy is removed.
    grantObjects(props.bucket, this.uploadTrigger, ['s3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject'], UPLOAD_MEDIA_PREFIX);
    // Upload keys are chosen by users, and the keys made from them at run time: the grants name prefixes.
    const uploads = policyOf(this.uploadTrigger);
    acknowledge(
      uploads,
      objectsUnder(props.bucket, UPLOAD_PREFIX),
      'GetObject, GetObjectTagging and DeleteObject (and their Version forms, for a version named by its id) on uploads ' +
        `under ${UPLOAD_PREFIX}, whose keys users choose (GetObject also checks the s3:// media a spec names there)`,
    );
    acknowledge(
      uploads,
      objectsUnder(props.bucket, ACCEPTED_PREFIX),
      `PutObject and PutObjectTagging under ${ACCEPTED_PREFIX}: an upload moves there under its own, user-chosen name`,
    );
    acknowledge(
      uploads,
      objectsUnder(props.bucket, REJECTED_PREFIX),
      `PutObject and PutObjectTagging under ${REJECTED_PREFIX}: a refused upload moves there under its own name, with <name>.<version>.reason.json`,
    );
    acknowledge(
      uploads,
      objectsUnder(props.bucket, UPLOAD_MEDIA_PREFIX),
      `PutObject, PutObjectTagging and DeleteObject under ${UPLOAD_MEDIA_PREFIX}: each image job gets its own copy of its image at ` +
        `${UPLOAD_MEDIA_PREFIX}<jobId>/<file name>, a key made at run time; a refused job's copy is removed`,
    );
    // A replayed event finds its upload already moved: S3 must answer 404 (NoSuchKey), not 403.
    grantList(props.bucket, this.uploadTrigger);

    this.uploadRule = new Rule(this, 'UploadRule', {
      description: `video-pipeline: objects created under ${UPLOAD_PREFIX} start jobs`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.bucket.bucketName] }, object: { key: [{ prefix: UPLOAD_PREFIX }] } },
      },
      targets: [
        new LambdaFunction(this.uploadTrigger, {
          deadLetterQueue: this.uploadDeadLetters,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });

    this.batchRunner = new HouseFunction(this, 'BatchRunnerFunction', {
      handlerFile: HANDLER.batchRunner,
      timeout: Duration.minutes(5),
      // Two runs at once would read the same manifests, and each queue lines the other already had.
      reservedConcurrentExecutions: 1,
      // A failed run is not repeated at once: the next run picks up where it stopped.
      retryAttempts: 0,
      environment: { ...jobIntakeEnvironment(props), MANIFESTS_TABLE: props.manifests.tableName },
    });
    grantJobIntake(this.batchRunner, props);
    props.manifests.grantReadWriteData(this.batchRunner);
    // Listing the manifests needs s3:ListBucket on the bucket itself (for batches/ only); reading them, the prefix.
    grantList(props.bucket, this.batchRunner, MANIFEST_PREFIX);
    grantObjects(props.bucket, this.batchRunner, ['s3:GetObject'], MANIFEST_PREFIX);
    acknowledge(
      policyOf(this.batchRunner),
      objectsUnder(props.bucket, MANIFEST_PREFIX),
      `GetObject only, under ${MANIFEST_PREFIX}: the batch runner reads every manifest users upload there, whatever its name`,
    );
    this.batchRule = new Rule(this, 'BatchSchedule', {
      description: 'video-pipeline: put pending batch work in the admission line (the backstop of the manifest rule)',
      schedule: Schedule.expression(props.batchSchedule),
      targets: [new LambdaFunction(this.batchRunner, { retryAttempts: 0 })],
    });
    // A manifest's lines join the line when it is uploaded, not at the next scheduled run.
    this.manifestRule = new Rule(this, 'ManifestRule', {
      description: `video-pipeline: a manifest uploaded under ${MANIFEST_PREFIX} joins the admission line`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.bucket.bucketName] }, object: { key: [{ prefix: MANIFEST_PREFIX }] } },
      },
      targets: [new LambdaFunction(this.batchRunner, { retryAttempts: 8, maxEventAge: Duration.hours(6) })],
    });
  }
}
