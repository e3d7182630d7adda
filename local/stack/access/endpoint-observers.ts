import type { DynamoDbRequestObserver } from '../../emulators/dynamodb/dynamodb-meter.js';
import type { S3RequestLine } from '../../emulators/s3/s3-requests.js';
import type { CfnTemplate } from '../cloud-assembly.js';
import type { AccessCheck } from './access-check.js';
import { accessKeyIdOf } from './aws-call.js';
import { dynamoDbCalls } from './dynamodb-calls.js';
import { jsonServiceCalls } from './json-service-calls.js';
import { partitionKeys } from './role-policies.js';
import { s3Calls } from './s3-calls.js';

/** What each local AWS endpoint hands the access check: every request, with who signed it. */
export interface EndpointObservers {
  dynamoDb: DynamoDbRequestObserver;
  s3: (request: S3RequestLine & { authorization: string | undefined }) => void;
  awsJson: (target: string, body: Record<string, unknown>, authorization: string | undefined) => void;
}

export function endpointObservers(check: AccessCheck, template: CfnTemplate): EndpointObservers {
  const tableKeys = partitionKeys(template);
  const unsigned = new URLSearchParams();
  return {
    dynamoDb: (target, body, authorization) => check.record(accessKeyIdOf(authorization, unsigned), dynamoDbCalls(target, body, tableKeys)),
    s3: (request) => check.record(accessKeyIdOf(request.authorization, request.query), s3Calls(request)),
    awsJson: (target, body, authorization) => check.record(accessKeyIdOf(authorization, unsigned), jsonServiceCalls(target, body)),
  };
}
