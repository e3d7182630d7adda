import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ProviderRequest } from '../domain/request-schema.js';

/**
 * The full provider body of each job, in the video bucket. It may carry megabytes of data: URIs,
 * far past what a Step Functions payload (256 KB) or a DynamoDB item (400 KB) can hold.
 */
export interface RequestStore {
  save(key: string, request: ProviderRequest): Promise<void>;
  load(key: string): Promise<ProviderRequest>;
}

export function createRequestStore(s3: S3Client, bucket: string): RequestStore {
  return {
    async save(key, request) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(request), ContentType: 'application/json' }));
    },
    async load(key) {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!answer.Body) throw new Error(`s3://${bucket}/${key} has no body`);
      return JSON.parse(await answer.Body.transformToString()) as ProviderRequest;
    },
  };
}
