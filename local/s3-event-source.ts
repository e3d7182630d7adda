import type { EventEmitter } from 'node:events';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3rverEvent } from 's3rver';
import type { CfnTemplate } from './cloud-assembly.js';
import { busEvent, type BusEvent } from './eventbridge-events.js';
import { LOCAL_EMULATION_USER_AGENT } from './s3-requests.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, localPhysicalName, logicalIdsOfType, resolveIntrinsics } from './template-resolver.js';

/**
 * S3 → EventBridge: turns what s3rver emits for a new object into the "Object Created" event S3 sends
 * to the default bus of a bucket with EventBridge enabled. Deletes are dropped (no rule of ours wants
 * "Object Deleted"). Events go out in the order s3rver emitted them.
 */

type S3rverRecord = S3rverEvent['Records'][number];

const REASONS: Record<string, string> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Copy': 'CopyObject',
  // s3rver reports a browser POST upload the same way (AWS: "POST Object"); we only do multipart.
  'ObjectCreated:Post': 'CompleteMultipartUpload',
};

export function objectCreatedEvent(record: S3rverRecord, etag: string | undefined): BusEvent | undefined {
  const reason = REASONS[record.eventName];
  if (!reason) return undefined;
  const { bucket, object } = record.s3;
  return busEvent({
    source: 'aws.s3',
    detailType: 'Object Created',
    resources: [`arn:aws:s3:::${bucket.name}`],
    time: new Date(record.eventTime),
    detail: {
      version: '0',
      bucket: { name: bucket.name },
      object: {
        key: object.key,
        size: object.size ?? 0,
        ...(etag ? { etag: etag.replace(/"/g, '') } : {}),
        ...(object.versionId ? { 'version-id': object.versionId } : {}),
        sequencer: object.sequencer,
      },
      'request-id': record.responseElements['x-amz-request-id'],
      requester: LOCAL_ACCOUNT,
      'source-ip-address': ipv4Of(record.requestParameters.sourceIPAddress),
      reason,
    },
  });
}

/** S3 reports an IPv4 address here (consumers such as Powertools' schema insist); s3rver may see IPv6 loopback. */
function ipv4Of(address: string): string {
  const mapped = address.replace(/^::ffff:/, '');
  return mapped === '::1' ? '127.0.0.1' : mapped;
}

/**
 * The buckets that send their events to EventBridge (`eventBridgeEnabled: true`, which CDK writes as a
 * custom notifications resource, or the bucket's own NotificationConfiguration). A bucket without it
 * sends nothing on AWS, so it sends nothing here either: a forgotten flag shows up locally.
 */
export function eventBridgeEnabledBuckets(template: CfnTemplate): Set<string> {
  const enabled = new Set<string>();
  // CDK's custom resource writes `EventBridgeConfiguration: {}`; the bucket's own property `{ EventBridgeEnabled: true }`.
  const hasEventBridge = (configuration: unknown) => {
    const eventBridge = (configuration as { EventBridgeConfiguration?: { EventBridgeEnabled?: unknown } } | undefined)?.EventBridgeConfiguration;
    return typeof eventBridge === 'object' && eventBridge !== null && eventBridge.EventBridgeEnabled !== false;
  };
  for (const bucketId of logicalIdsOfType(template, 'AWS::S3::Bucket')) {
    if (hasEventBridge(template.Resources[bucketId]!.Properties?.NotificationConfiguration)) enabled.add(localPhysicalName(template, bucketId));
  }
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'Custom::S3BucketNotifications' || !hasEventBridge(resource.Properties?.NotificationConfiguration)) continue;
    enabled.add(String(resolveIntrinsics(template, resource.Properties?.BucketName)));
  }
  return enabled;
}

export interface S3EventSourceOptions {
  /** The s3rver instance (it is an EventEmitter of 'event'). */
  server: EventEmitter;
  /** s3rver's URL: Copy events lack the ETag, which a HeadObject supplies. */
  s3Url: string;
  /** Puts an event on the default bus. */
  putEvent: (event: BusEvent) => void;
  /** Buckets whose objects are announced; all when not given. */
  buckets?: ReadonlySet<string>;
  log?: (line: string) => void;
}

export interface S3EventSource {
  /** Resolves once every emission so far has been handed to the bus. */
  idle(): Promise<void>;
  /** Stops listening; waits for what was already emitted. */
  close(): Promise<void>;
}

export function connectS3EventSource(options: S3EventSourceOptions): S3EventSource {
  const log = options.log ?? ((line: string) => console.error(line));
  let client: S3Client | undefined;
  const etagOf = async (bucket: string, key: string) => {
    client ??= new S3Client({
      endpoint: options.s3Url,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      // S3 knows a copy's ETag without asking itself: this HeadObject is not a billed request.
      customUserAgent: LOCAL_EMULATION_USER_AGENT,
    });
    return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag;
  };

  let queue: Promise<void> = Promise.resolve();
  const onEvent = (emitted: S3rverEvent) => {
    for (const record of emitted.Records) {
      if (!REASONS[record.eventName]) continue;
      if (options.buckets && !options.buckets.has(record.s3.bucket.name)) continue;
      queue = queue.then(async () => {
        try {
          // A later overwrite can change the ETag before we ask; S3 itself would report the copy's.
          const etag = record.s3.object.eTag ?? (await etagOf(record.s3.bucket.name, record.s3.object.key));
          const event = objectCreatedEvent(record, etag);
          if (event) options.putEvent(event);
        } catch (error) {
          log(`[s3-events] ${record.eventName} ${record.s3.bucket.name}/${record.s3.object.key} not announced: ${String(error)}`);
        }
      });
    }
  };
  options.server.on('event', onEvent);

  const idle = async () => {
    let seen: Promise<void>;
    do {
      seen = queue;
      await seen;
    } while (seen !== queue);
  };
  return {
    idle,
    async close() {
      options.server.off('event', onEvent);
      await idle();
      client?.destroy();
    },
  };
}
