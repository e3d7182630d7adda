import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

/**
 * Clients are built once per cold start. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE>
 * variables, which is how the local stack points the very same code at its emulators.
 */

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    // A metadata key may be named like an Object member (`constructor`): store it as a plain map entry.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

/** s3rver only speaks path-style addressing, hence the flag. */
export function createS3Client(forcePathStyle: boolean): S3Client {
  return new S3Client({ forcePathStyle });
}
