import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { describe, expect, it } from 'vitest';
import { uploadedObjectOf } from '../../runtime/triggers/upload-intake.js';

/**
 * The upload trigger reads S3's "Object Created" event with its own small schema (upload-intake.ts)
 * instead of Powertools' classic-zod one (which would put all of zod into the function).
 */
const objectCreated = {
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::example-bucket'],
  detail: {
    version: '0',
    bucket: { name: 'example-bucket' },
    object: {
      key: 'incoming/a spec.json',
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '00617F08299329D189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
};

describe('uploadedObjectOf', () => {
  const withoutEtagOrVersion = (() => {
    const { etag: _etag, 'version-id': _version, ...object } = objectCreated.detail.object;
    return { ...objectCreated, detail: { ...objectCreated.detail, object } };
  })();

  it("reads events Powertools' full schema accepts (so the samples are S3's own)", () => {
    expect(() => S3EventNotificationEventBridgeSchema.parse(objectCreated)).not.toThrow();
    expect(() => S3EventNotificationEventBridgeSchema.parse(withoutEtagOrVersion)).not.toThrow();
  });

  it('reads the bucket, key, ETag and version of an "Object Created" event', () => {
    expect(uploadedObjectOf(objectCreated)).toEqual({
      bucket: 'example-bucket',
      key: 'incoming/a spec.json',
      etag: 'b1946ac92492d2347c6235b4d2611184',
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
    });
  });

  it('leaves out a version the event does not carry (an unversioned bucket)', () => {
    const { 'version-id': _version, ...object } = objectCreated.detail.object;
    expect(uploadedObjectOf({ ...objectCreated, detail: { ...objectCreated.detail, object } })).toEqual({
      bucket: 'example-bucket',
      key: 'incoming/a spec.json',
      etag: 'b1946ac92492d2347c6235b4d2611184',
    });
  });

  it.each([
    ['no detail', { ...objectCreated, detail: undefined }],
    ['no bucket name', { ...objectCreated, detail: { ...objectCreated.detail, bucket: {} } }],
    ['a key that is not a string', { ...objectCreated, detail: { ...objectCreated.detail, object: { ...objectCreated.detail.object, key: 7 } } }],
    // S3 sends the ETag in every Object Created event: without it no version could be read exactly.
    ['no ETag', withoutEtagOrVersion],
    ['not an event', 'Object Created'],
  ])('throws on %s, failing the invocation', (_name, event) => {
    expect(() => uploadedObjectOf(event)).toThrow();
  });
});
