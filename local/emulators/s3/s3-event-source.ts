import type { EventEmitter } from 'node:events';
import type { S3rverEvent } from 's3rver';
import type { CfnTemplate } from '../../stack/cloud-assembly.js';
import { busEvent, type BusEvent } from '../eventbridge/eventbridge-events.js';
import { LOCAL_ACCOUNT, localPhysicalName, logicalIdsOfType, resolveIntrinsics } from '../../stack/template-resolver.js';

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

export function objectCreatedEvent(record: S3rverRecord): BusEvent | undefined {
  const reason = REASONS[record.eventName];
  if (!reason) return undefined;
  const { bucket, object } = record.s3;
  // The ETag of the object this event created (the local S3's thread adds it to Copy events).
  const etag = object.eTag;
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
  /** Puts an event on the default bus. */
  putEvent: (event: BusEvent) => void;
  /** Buckets whose objects are announced; all when not given. */
  buckets?: ReadonlySet<string>;
  log?: (line: string) => void;
}

export interface S3EventSource {
  /** Stops listening. */
  close(): void;
}

/**
 * Each event is put on the bus as it is emitted, in order, and so before the request that caused it
 * is answered (startS3 emits before it acknowledges).
 */
export function connectS3EventSource(options: S3EventSourceOptions): S3EventSource {
  const log = options.log ?? ((line: string) => console.error(line));
  const onEvent = (emitted: S3rverEvent) => {
    for (const record of emitted.Records) {
      if (!REASONS[record.eventName]) continue;
      if (options.buckets && !options.buckets.has(record.s3.bucket.name)) continue;
      try {
        const event = objectCreatedEvent(record);
        if (event) options.putEvent(event);
      } catch (error) {
        log(`[s3-events] ${record.eventName} ${record.s3.bucket.name}/${record.s3.object.key} not announced: ${String(error)}`);
      }
    }
  };
  options.server.on('event', onEvent);
  return { close: () => options.server.off('event', onEvent) };
}
