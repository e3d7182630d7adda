import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { REJECTED_PREFIX, REQUEST_PREFIX, UPLOAD_PREFIX } from '../../contracts/bucket.js';
import { ADMISSION_TABLE, JOBS_TABLE, MANIFESTS_TABLE, type IndexLayout } from '../../contracts/tables.js';
import { acknowledge } from './nag.js';

export interface JobStoreProps {
  /** Keep the table and bucket when the stack is deleted (production) or not (a trial stack). */
  retainData: boolean;
}

/** The Jobs table, the batch manifests' progress, and the video bucket, with secure defaults. */
export class JobStore extends Construct {
  public readonly table: Table;
  public readonly manifests: Table;
  /** The admission slots (one item: holders and the learned limit; runtime/admission/admission-slots.ts). */
  public readonly admission: Table;
  public readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: JobStoreProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.table = new Table(this, 'Jobs', {
      partitionKey: { name: JOBS_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.retainData,
      removalPolicy,
    });
    const addIndex = (index: IndexLayout) =>
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    addIndex(JOBS_TABLE.indexes.byStatus);
    addIndex(JOBS_TABLE.indexes.byCreatedAt);
    addIndex(JOBS_TABLE.indexes.byLine);
    this.admission = new Table(this, 'Admission', {
      partitionKey: { name: ADMISSION_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.retainData,
      removalPolicy,
    });
    this.manifests = new Table(this, 'Manifests', {
      partitionKey: { name: MANIFESTS_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.retainData,
      removalPolicy,
    });
    this.bucket = new Bucket(this, 'Videos', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: !props.retainData,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'expire-request-bodies', prefix: REQUEST_PREFIX, expiration: Duration.days(30) },
        { id: 'expire-unclaimed-uploads', prefix: UPLOAD_PREFIX, expiration: Duration.days(30) },
        { id: 'expire-rejected-uploads', prefix: REJECTED_PREFIX, expiration: Duration.days(30) },
      ],
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'Server access logs would need a second bucket per deployment (itself unlogged) for best-effort records; the bucket blocks ' +
        "all public access and only this stack's roles and 1-hour presigned GETs reach it, and object-level reads and writes, " +
        "with the caller's identity, are what CloudTrail S3 data events record where the account's trail enables them",
    );
    // Object Created events go to EventBridge, where the upload trigger's rule picks them up. Set on the
    // bucket itself: `eventBridgeEnabled` would add a CDK-managed custom resource and function for it.
    (this.bucket.node.defaultChild as CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
  }
}
