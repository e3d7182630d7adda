import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { issueToken } from '../../runtime/auth/api-token.js';
import { createTokenRepository } from '../../runtime/aws/token-repository.js';
import { handlerFileOfFunction } from '../../local/stack/handler-modules.js';
import { logicalIdsOfType } from '../../local/stack/template-resolver.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import { jobPathSuite } from '../../testkit/job-path-suite.js';
import { localS3Client } from '../../testkit/local-s3.js';
import { getJob, type JobAnswer } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

/**
 * The job path again, on what `cdk deploy` ships: every function runs from its esbuild bundle in
 * the cloud assembly, in a process of its own with the Lambda environment and only the runtime's SDK
 * (local/stack/bundled/). A bundling fault (a package left out, a bad external, an import that only
 * works from the sources) fails here, offline, instead of at the first invocation on AWS. Then the
 * functions the job path does not reach on its own: an upload, a batch manifest, the completion event.
 */
const fixture = jobPathSuite({ bundled: true });

let s3: S3Client;
beforeAll(() => {
  s3 = localS3Client(fixture().stack);
});
afterAll(() => {
  s3?.destroy();
});

const spec = (text: string) => JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text }], duration: 4, generate_audio: false });

async function jobsOf(trigger: string): Promise<(JobAnswer & { trigger: { source: string } })[]> {
  const page = (await (await fetch(`${fixture().stack.apiUrl}/jobs?trigger=${trigger}&limit=100`)).json()) as {
    jobs: (JobAnswer & { trigger: { source: string } })[];
  };
  return page.jobs;
}

describe('the triggers, from their bundles', () => {
  it('a spec uploaded under incoming/ and a manifest under batches/ each make a job that succeeds and is announced', async () => {
    const { stack } = fixture();
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'incoming/bundled.json', Body: spec('A paper boat, from an upload') }));
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: 'batches/bundled.jsonl',
        Body: `${JSON.stringify({ id: 'one', ...JSON.parse(spec('A kite, from a manifest')) })}\n`,
      }),
    );
    await stack.deliveriesIdle();
    const [uploaded] = (await jobsOf('s3')).filter((job) => job.trigger.source.endsWith('/incoming/bundled.json'));
    const [listed] = (await jobsOf('schedule')).filter((job) => job.trigger.source.includes('/batches/bundled.jsonl'));
    expect(uploaded && listed).toBeTruthy();
    for (const job of [uploaded!, listed!]) expect((await waitForJob(stack.apiUrl, job.jobId)).job.status).toBe('SUCCEEDED');
    // The completion events go out once each execution has ended.
    await stack.engine.idle();
    await stack.deliveriesIdle();
    const announced = stack
      .events()
      .filter((event) => event['detail-type'] === 'Job Succeeded')
      .map((event) => (event.detail as { jobId: string }).jobId);
    expect(announced).toEqual(expect.arrayContaining([uploaded!.jobId, listed!.jobId]));
    expect((await getJob(stack.apiUrl, uploaded!.jobId)).output?.contentType).toBe('video/mp4');
  });

  it('a drop-in request with a token passes the token authorizer, and a job with a webhook is delivered to its receiver', async () => {
    const { stack } = fixture();
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.environment.AWS_ENDPOINT_URL_DYNAMODB,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const { token, record } = issueToken('bundled', new Date());
    await createTokenRepository(documents, stack.environment.TOKENS_TABLE!).create(record);
    documents.destroy();
    const unknown = await fetch(`${stack.apiUrl}/v1/video/generations/no-such-task`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await unknown.json()) as { code?: string }).code).toBe('task_not_exist');

    const received: string[] = [];
    const receiver = createServer((request, response) => {
      received.push(String(request.headers['webhook-event']));
      request.resume();
      response.writeHead(204).end();
    }).listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      const posted = await fetch(`${stack.apiUrl}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...JSON.parse(spec('A lantern, told by webhook')), webhook: { url } }),
      });
      const { jobId } = (await posted.json()) as { jobId: string };
      expect((await waitForJob(stack.apiUrl, jobId)).job.status).toBe('SUCCEEDED');
      await vi.waitFor(() => expect(received).toContain('completed'), { timeout: 20_000, interval: 50 });
      // The receiver answers before the deliverer's invocation returns (and is counted): wait for that too.
      await vi.waitFor(() => expect(stack.usage().lambda['deliver-webhook']?.invocations ?? 0).toBeGreaterThan(0), { timeout: 20_000, interval: 50 });
    } finally {
      receiver.close();
    }
  });

  it('every function of the template ran from its bundle, and no delivery to one failed', () => {
    const usage = fixture().stack.usage();
    const template = synthesizePipelineTemplate();
    const files = logicalIdsOfType(template, 'AWS::Lambda::Function').map((id) => handlerFileOfFunction(template, id));
    expect(files).toHaveLength(12);
    for (const file of files) expect({ file, invoked: (usage.lambda[file]?.invocations ?? 0) > 0 }).toEqual({ file, invoked: true });
    expect(fixture().stack.deliveryFailures()).toEqual([]);
  });
});
