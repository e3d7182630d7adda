/**
 * S3 requests as S3 bills them: every request to the bucket, signed or presigned, whoever sends it
 * (the functions, the provider fetching presigned media, a user downloading a video), is billed to
 * the bucket owner by its class. Counted in the local S3's own thread (local/emulators/s3/s3rver-thread.ts) on
 * shared memory, so the count is in place before the client has its answer.
 */

export const S3_OPERATIONS = [
  'PutObject',
  'CopyObject',
  'PostObject',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'ListObjects',
  'ListParts',
  'ListMultipartUploads',
  'ListBuckets',
  'OtherWrite',
  'GetObject',
  'HeadObject',
  'HeadBucket',
  'OtherRead',
  'DeleteObject',
  'DeleteObjects',
  'AbortMultipartUpload',
  'DeleteBucket',
] as const;

export type S3Operation = (typeof S3_OPERATIONS)[number];

/**
 * tier1 = "PUT, COPY, POST, LIST requests", tier2 = "GET, SELECT, and all other requests", free =
 * "DELETE and CANCEL requests" (a multi-object delete is a batch of DELETEs).
 */
export type S3BillingClass = 'tier1' | 'tier2' | 'free';

export const S3_BILLING_CLASS: Record<S3Operation, S3BillingClass> = {
  PutObject: 'tier1',
  CopyObject: 'tier1',
  PostObject: 'tier1',
  CreateMultipartUpload: 'tier1',
  UploadPart: 'tier1',
  UploadPartCopy: 'tier1',
  CompleteMultipartUpload: 'tier1',
  ListObjects: 'tier1',
  ListParts: 'tier1',
  ListMultipartUploads: 'tier1',
  ListBuckets: 'tier1',
  OtherWrite: 'tier1',
  GetObject: 'tier2',
  HeadObject: 'tier2',
  HeadBucket: 'tier2',
  OtherRead: 'tier2',
  DeleteObject: 'free',
  DeleteObjects: 'free',
  AbortMultipartUpload: 'free',
  DeleteBucket: 'free',
};

export interface S3RequestLine {
  method: string;
  /** Path-style: `/`, `/<bucket>` or `/<bucket>/<key>`. */
  path: string;
  query: URLSearchParams;
  header(name: string): string | undefined;
}

export function s3Operation(request: S3RequestLine): S3Operation {
  const method = request.method.toUpperCase();
  const segments = request.path.split('/').filter(Boolean);
  const has = (name: string) => request.query.has(name);
  if (segments.length === 0) return method === 'GET' ? 'ListBuckets' : otherByMethod(method);
  if (segments.length === 1) {
    if (method === 'GET') return has('uploads') ? 'ListMultipartUploads' : isBucketSubresource(request.query) ? 'OtherRead' : 'ListObjects';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'POST') return has('delete') ? 'DeleteObjects' : 'PostObject';
    if (method === 'DELETE') return 'DeleteBucket';
    return otherByMethod(method);
  }
  const copy = request.header('x-amz-copy-source') !== undefined;
  switch (method) {
    case 'GET':
      return has('uploadId') ? 'ListParts' : has('tagging') || has('acl') ? 'OtherRead' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (has('partNumber') && has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (has('tagging') || has('acl')) return 'OtherWrite';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (has('uploads')) return 'CreateMultipartUpload';
      return has('uploadId') ? 'CompleteMultipartUpload' : 'OtherWrite';
    case 'DELETE':
      return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return otherByMethod(method);
  }
}

/** GET /<bucket>?location, ?versioning, ?cors…: configuration reads, not listings. */
function isBucketSubresource(query: URLSearchParams): boolean {
  const listing = new Set([
    'list-type',
    'prefix',
    'delimiter',
    'marker',
    'max-keys',
    'continuation-token',
    'start-after',
    'encoding-type',
    'fetch-owner',
    'versions',
    'key-marker',
    'version-id-marker',
  ]);
  return [...query.keys()].some((name) => !listing.has(name));
}

function otherByMethod(method: string): S3Operation {
  return method === 'PUT' || method === 'POST' ? 'OtherWrite' : 'OtherRead';
}

export function s3RequestCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * S3_OPERATIONS.length);
}

export function countS3Request(counters: SharedArrayBuffer, operation: S3Operation): void {
  Atomics.add(new Int32Array(counters), S3_OPERATIONS.indexOf(operation), 1);
}

/** The requests counted so far, by operation (zeros left out). */
export function readS3Requests(counters: SharedArrayBuffer): Partial<Record<S3Operation, number>> {
  const counts = new Int32Array(counters);
  const requests: Partial<Record<S3Operation, number>> = {};
  S3_OPERATIONS.forEach((operation, index) => {
    const count = Atomics.load(counts, index);
    if (count > 0) requests[operation] = count;
  });
  return requests;
}
