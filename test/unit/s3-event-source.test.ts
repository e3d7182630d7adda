import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3, type S3Emulator } from '../../local/emulators/emulators.js';
import type { BusEvent } from '../../local/emulators/eventbridge/eventbridge-events.js';
import { connectS3EventSource, eventBridgeEnabledBuckets, type S3EventSource } from '../../local/emulators/s3/s3-event-source.js';
import type { CfnTemplate } from '../../local/stack/cloud-assembly.js';

const BUCKET = 'videos';
let directory: string;
let s3: S3Emulator;
let client: S3Client;
let source: S3EventSource;
let events: BusEvent[];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 's3-event-source-'));
  s3 = await startS3({ directory, bucket: BUCKET });
  client = new S3Client({
    endpoint: s3.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'elsewhere' }));
  source = connectS3EventSource({
    server: s3.server,
    buckets: new Set([BUCKET]),
    putEvent: (event) => events.push(event),
  });
});

beforeEach(() => {
  events = [];
});

afterAll(async () => {
  source?.close();
  client?.destroy();
  await s3?.close();
  await rm(directory, { recursive: true, force: true });
});

type Detail = { bucket: { name: string }; object: { key: string; size: number; etag?: string; sequencer: string }; reason: string };
const detailOf = (event: BusEvent) => event.detail as Detail;

describe('s3rver events become EventBridge "Object Created" events', () => {
  it('PutObject: one event, the raw key, the unquoted ETag, the envelope S3 sends', async () => {
    const key = 'incoming/a spec+ü&x=1.json';
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{"prompt":"x"}' }));

    // Put on the bus before the request that caused it was answered.
    const [event, ...others] = events;
    expect(others).toEqual([]);
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${BUCKET}`],
      detail: {
        version: '0',
        bucket: { name: BUCKET },
        object: { key, size: 14, etag: put.ETag!.replaceAll('"', '') },
        requester: '000000000000',
        'source-ip-address': '127.0.0.1',
        reason: 'PutObject',
      },
    });
    expect(event!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(detailOf(event!).object.sequencer).toMatch(/^[0-9A-F]+$/);
    // What the upload trigger parses it with: Powertools' schema of the real S3 → EventBridge event.
    expect(() => S3EventNotificationEventBridgeSchema.parse(event)).not.toThrow();
  });

  it('CopyObject: one event with the size, and the ETag s3rver leaves out', async () => {
    // A source key S3 wants URL-encoded in the copy source, and s3rver alone would not find (see startS3).
    const sourceKey = 'source/a+b&c=d, ü.png';
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: sourceKey, Body: Buffer.alloc(1234, 7) }));
    events = [];
    const copySource = `${BUCKET}/${encodeURIComponent(sourceKey).replaceAll('%2F', '/')}`;
    await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'incoming/copied image.png', CopySource: copySource }));

    const copied = events;
    expect(copied).toHaveLength(1);
    expect(detailOf(copied[0]!)).toMatchObject({
      object: { key: 'incoming/copied image.png', size: 1234, etag: put.ETag!.replaceAll('"', '') },
      reason: 'CopyObject',
    });
  });

  it('a multipart upload (lib-storage, 6 MB in 5 MB parts): one event, on completion', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024, 1);
    const upload = new Upload({ client, params: { Bucket: BUCKET, Key: 'incoming/big.mp4', Body: body }, partSize: 5 * 1024 * 1024 });
    const done = await upload.done();

    const created = events;
    expect(created).toHaveLength(1);
    expect(detailOf(created[0]!)).toMatchObject({
      object: { key: 'incoming/big.mp4', size: body.length, etag: done.ETag!.replaceAll('"', '') },
      reason: 'CompleteMultipartUpload',
    });
  });

  it('ignores deletes and buckets that do not send events to EventBridge', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'incoming/x.json', Body: '{}' }));
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'incoming/big.mp4' }));
    expect(events).toEqual([]);
  });
});

describe('eventBridgeEnabledBuckets', () => {
  it('finds the buckets CDK enables (custom notifications resource) or that enable it themselves', () => {
    const template: CfnTemplate = {
      Resources: {
        Videos: { Type: 'AWS::S3::Bucket' },
        Logs: { Type: 'AWS::S3::Bucket', Properties: { NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: false } } } },
        Raw: { Type: 'AWS::S3::Bucket', Properties: { NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } } } },
        VideosNotifications: {
          Type: 'Custom::S3BucketNotifications',
          Properties: { BucketName: { Ref: 'Videos' }, NotificationConfiguration: { EventBridgeConfiguration: {} } },
        },
      },
    };
    expect([...eventBridgeEnabledBuckets(template)].sort()).toEqual(['raw', 'videos']);
  });
});
