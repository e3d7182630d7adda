import type { AwsCall } from './aws-call.js';
import { s3Operation, type S3RequestLine } from '../../emulators/s3/s3-requests.js';

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** `/<bucket>/<key>` (path-style, as the local S3 is addressed) → the object's ARN, or the bucket's. */
function arnOfPath(path: string): { bucket: string; object: string } {
  const [bucket = '', ...key] = decoded(path).replace(/^\//, '').split('/');
  return { bucket: `arn:aws:s3:::${bucket}`, object: `arn:aws:s3:::${bucket}/${key.join('/')}` };
}

/** The source of a copy: `x-amz-copy-source: /<bucket>/<key>[?versionId=…]`, URL-encoded. */
function copySource(header: string): AwsCall {
  const [path = '', query = ''] = header.split('?');
  const version = new URLSearchParams(query).has('versionId');
  return { action: version ? 's3:GetObjectVersion' : 's3:GetObject', resource: arnOfPath(`/${path.replace(/^\//, '')}`).object, context: {} };
}

/**
 * The IAM calls of one request to the local S3, by the permission S3 checks for each operation:
 * a HEAD needs s3:GetObject, every step of a multipart upload s3:PutObject, a copy
 * s3:GetObject on its source and s3:PutObject on its target, tags on a write s3:PutObjectTagging, a
 * listing s3:ListBucket with its `s3:prefix`. What it cannot name is a call of `s3:<operation>` on the
 * bucket, so that no grant allows it by accident.
 */
export function s3Calls(request: S3RequestLine): AwsCall[] {
  const operation = s3Operation(request);
  const { bucket, object } = arnOfPath(request.path);
  const call = (action: string, resource = object, context: AwsCall['context'] = {}): AwsCall => ({ action, resource, context });
  const versioned = request.query.has('versionId');
  const tagged = request.header('x-amz-tagging') !== undefined;
  const source = request.header('x-amz-copy-source');
  switch (operation) {
    case 'GetObject':
    case 'HeadObject':
      return [call(versioned ? 's3:GetObjectVersion' : 's3:GetObject')];
    case 'PutObject':
    case 'CreateMultipartUpload':
      return [call('s3:PutObject'), ...(tagged ? [call('s3:PutObjectTagging')] : [])];
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return [call('s3:PutObject')];
    case 'CopyObject':
    case 'UploadPartCopy': {
      const replacesTags = tagged && request.header('x-amz-tagging-directive')?.toUpperCase() === 'REPLACE';
      return [call('s3:PutObject'), ...(replacesTags ? [call('s3:PutObjectTagging')] : []), ...(source ? [copySource(source)] : [])];
    }
    case 'DeleteObject':
      return [call(versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject')];
    case 'AbortMultipartUpload':
      return [call('s3:AbortMultipartUpload')];
    case 'ListParts':
      return [call('s3:ListMultipartUploadParts')];
    case 'ListMultipartUploads':
      return [call('s3:ListBucketMultipartUploads', bucket)];
    case 'HeadBucket':
      return [call('s3:ListBucket', bucket)];
    case 'ListObjects': {
      const prefix = request.query.get('prefix');
      return [call(request.query.has('versions') ? 's3:ListBucketVersions' : 's3:ListBucket', bucket, prefix === null ? {} : { 's3:prefix': prefix })];
    }
    case 'ListBuckets':
      return [call('s3:ListAllMyBuckets', '*')];
    case 'OtherRead':
    case 'OtherWrite':
      if (request.query.has('tagging')) {
        const write = operation === 'OtherWrite';
        return [call(`s3:${write ? 'Put' : 'Get'}Object${versioned ? 'Version' : ''}Tagging`)];
      }
      return [call(`s3:${operation}`, bucket)];
    default:
      return [call(`s3:${operation}`, bucket)];
  }
}
