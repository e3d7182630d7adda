import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CREATED_INDEX, LINE_INDEX, STATUS_INDEX } from '../../runtime/aws/job-repository.js';

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
      partitionKey: { name: 'jobId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.retainData,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: STATUS_INDEX,
      partitionKey: { name: 'status', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: CREATED_INDEX,
      partitionKey: { name: 'kind', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    // The admission line: a sparse index of the waiting jobs only, in line order.
    this.table.addGlobalSecondaryIndex({
      indexName: LINE_INDEX,
      partitionKey: { name: 'inLine', type: AttributeType.STRING },
      sortKey: { name: 'lineKey', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.admission = new Table(this, 'Admission', {
      partitionKey: { name: 'name', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.retainData,
      removalPolicy,
    });
    this.manifests = new Table(this, 'Manifests', {
      partitionKey: { name: 'manifestId', type: AttributeType.STRING },
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
        { id: 'expire-request-bodies', prefix: 'requests/', expiration: Duration.days(30) },
        { id: 'expire-unclaimed-uploads', prefix: 'incoming/', expiration: Duration.days(30) },
        { id: 'expire-rejected-uploads', prefix: 'rejected/', expiration: Duration.days(30) },
      ],
    });
    // Object Created events go to EventBridge, where the upload trigger's rule picks them up. Set on the
    // bucket itself: `eventBridgeEnabled` would add a CDK-managed custom resource and function for it.
    (this.bucket.node.defaultChild as CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
  }
}
