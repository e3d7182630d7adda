import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessCheck, type AccessCheck } from '../../local/stack/access/access-check.js';
import { accessKeyIdOf } from '../../local/stack/access/aws-call.js';
import { dynamoDbCalls } from '../../local/stack/access/dynamodb-calls.js';
import { jsonServiceCalls } from '../../local/stack/access/json-service-calls.js';
import { partitionKeys } from '../../local/stack/access/role-policies.js';
import { s3Calls } from '../../local/stack/access/s3-calls.js';
import { synthesizePipelineTemplate, type CfnTemplate } from '../../local/stack/cloud-assembly.js';
import { handlerFileOfFunction } from '../../local/stack/handler-modules.js';
import { pipelineDefinitionFrom } from '../../local/stack/pipeline-definition.js';
import { localArn, localPhysicalName, logicalIdsOfType, onlyLogicalIdOfType } from '../../local/stack/template-resolver.js';

/**
 * The local stack's access check on the synthesized template: requests as the local endpoints see
 * them, turned into IAM calls and judged against the roles, so that a grant missing from infra/ fails
 * an e2e run (test/e2e: the stack fixture's close, the chaos run) instead of the first deploy.
 */

let template: CfnTemplate;
let bucket: string;
let jobsTable: string;
const executionArn = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:${pipelineDefinitionFrom(template).stateMachineId}:${name}`;
const fn = (handlerFile: string) => logicalIdsOfType(template, 'AWS::Lambda::Function').find((id) => handlerFileOfFunction(template, id) === handlerFile)!;

function s3Request(method: string, url: string, headers: Record<string, string> = {}) {
  const parsed = new URL(url, 'http://127.0.0.1');
  return { method, path: parsed.pathname, query: parsed.searchParams, header: (name: string) => headers[name] };
}

async function verdicts(record: (check: AccessCheck) => void): Promise<string[]> {
  const check = createAccessCheck(template);
  record(check);
  return (await check.denials()).map((denial) => `${denial.action} ${denial.resource.replace(`arn:aws:s3:::${bucket}/`, '')}`);
}

beforeAll(() => {
  template = synthesizePipelineTemplate();
  bucket = localPhysicalName(template, onlyLogicalIdOfType(template, 'AWS::S3::Bucket'));
  jobsTable = logicalIdsOfType(template, 'AWS::DynamoDB::Table').find((id) => id.includes('Jobs'))!;
});

describe('who signed a request', () => {
  it('is the access key of the SigV4 Authorization header, or of a presigned URL', () => {
    const header = 'AWS4-HMAC-SHA256 Credential=StoreVideoFn/20261204/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc';
    expect(accessKeyIdOf(header, new URLSearchParams())).toBe('StoreVideoFn');
    expect(accessKeyIdOf(undefined, new URLSearchParams({ 'X-Amz-Credential': 'IntakeFn/20261204/us-east-1/s3/aws4_request' }))).toBe('IntakeFn');
    expect(accessKeyIdOf(undefined, new URLSearchParams())).toBeUndefined();
  });
});

describe('the permission an S3 request needs', () => {
  it('a HEAD reads the object, a copy reads its source and writes its target, every multipart step writes, a listing carries its prefix', () => {
    const object = `arn:aws:s3:::b/incoming/a b.json`;
    expect(s3Calls(s3Request('HEAD', '/b/incoming/a%20b.json'))).toEqual([{ action: 's3:GetObject', resource: object, context: {} }]);
    expect(
      s3Calls(s3Request('PUT', '/b/accepted/a.json', { 'x-amz-copy-source': '/b/incoming/a%20b.json?versionId=3' })).map(
        (call) => `${call.action} ${call.resource}`,
      ),
    ).toEqual(['s3:PutObject arn:aws:s3:::b/accepted/a.json', 's3:GetObjectVersion arn:aws:s3:::b/incoming/a b.json']);
    for (const [method, url] of [
      ['POST', '/b/videos/v.mp4?uploads'],
      ['PUT', '/b/videos/v.mp4?partNumber=1&uploadId=u'],
      ['POST', '/b/videos/v.mp4?uploadId=u'],
    ] as const) {
      expect(s3Calls(s3Request(method, url))).toEqual([{ action: 's3:PutObject', resource: 'arn:aws:s3:::b/videos/v.mp4', context: {} }]);
    }
    expect(s3Calls(s3Request('DELETE', '/b/videos/v.mp4?uploadId=u'))[0]!.action).toBe('s3:AbortMultipartUpload');
    expect(s3Calls(s3Request('GET', '/b?list-type=2&prefix=batches/'))).toEqual([
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'batches/' } },
    ]);
  });
});

describe('judging calls against the roles of the template', () => {
  it('allows what each function is granted, on its own prefixes', async () => {
    expect(
      await verdicts((check) => {
        check.record(fn('store-video'), s3Calls(s3Request('PUT', `/${bucket}/videos/2026/12/04/job.mp4?partNumber=1&uploadId=u`)));
        check.record(fn('store-video'), s3Calls(s3Request('HEAD', `/${bucket}/videos/2026/12/04/job.mp4`)));
        check.record(fn('intake'), s3Calls(s3Request('GET', `/${bucket}/videos/2026/12/04/job.mp4?X-Amz-Credential=x`)));
        check.record(fn('batch-runner'), s3Calls(s3Request('GET', `/${bucket}?list-type=2&prefix=batches/`)));
        check.record(fn('s3-trigger'), s3Calls(s3Request('PUT', `/${bucket}/accepted/a.json`, { 'x-amz-copy-source': `/${bucket}/incoming/a.json` })));
        check.record(
          fn('submit-task'),
          jsonServiceCalls('secretsmanager.GetSecretValue', {
            SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:video-pipeline/provider-api-key',
          }),
        );
        // A job cancelled between its admission and its start: the dispatch stops the execution it just started.
        check.record(fn('admission'), jsonServiceCalls('AWSStepFunctions.StopExecution', { executionArn: executionArn('job-1-admission-2') }));
        check.record(
          fn('announce-outcome'),
          jsonServiceCalls('AWSEvents.PutEvents', {
            Entries: [{ EventBusName: localPhysicalName(template, onlyLogicalIdOfType(template, 'AWS::Events::EventBus')) }],
          }),
        );
      }),
    ).toEqual([]);
  });

  it('denies what a role lacks: another prefix, another listing, a job item where only history items are granted, another function', async () => {
    const keys = partitionKeys(template);
    const stateMachine = pipelineDefinitionFrom(template).stateMachineId;
    expect(
      await verdicts((check) => {
        check.record(fn('store-video'), s3Calls(s3Request('PUT', `/${bucket}/requests/job.json`)));
        check.record(fn('batch-runner'), s3Calls(s3Request('GET', `/${bucket}?list-type=2&prefix=incoming/`)));
        check.record(
          fn('submit-task'),
          dynamoDbCalls('DynamoDB_20120810.GetItem', { TableName: jobsTable, Key: { jobId: { S: 'generation-history#5s#720p' } } }, keys),
        );
        check.record(fn('submit-task'), dynamoDbCalls('DynamoDB_20120810.GetItem', { TableName: jobsTable, Key: { jobId: { S: 'a-job-id' } } }, keys));
        check.record(stateMachine, [{ action: 'lambda:InvokeFunction', resource: localArn(template, fn('poll-task')), context: {} }]);
        check.record(stateMachine, [{ action: 'lambda:InvokeFunction', resource: localArn(template, fn('intake')), context: {} }]);
        check.record(fn('describe-failure'), jsonServiceCalls('AWSStepFunctions.StartExecution', { stateMachineArn: localArn(template, stateMachine) }));
      }),
    ).toEqual([
      's3:PutObject requests/job.json',
      's3:ListBucket arn:aws:s3:::' + bucket,
      `dynamodb:GetItem arn:aws:dynamodb:us-east-1:000000000000:table/${jobsTable}`,
      `lambda:InvokeFunction ${localArn(template, fn('intake'))}`,
      `states:StartExecution ${localArn(template, stateMachine)}`,
    ]);
  });

  it("leaves out requests signed by no function's key (a test's own, a user's)", async () => {
    const check = createAccessCheck(template);
    check.record('S3RVER', s3Calls(s3Request('PUT', `/${bucket}/anything`)));
    check.record(undefined, s3Calls(s3Request('PUT', `/${bucket}/anything`)));
    expect(check.callsByPrincipal()).toEqual({});
    expect(await check.denials()).toEqual([]);
  });
});
