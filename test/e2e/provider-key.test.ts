import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

let fixture: StackFixture;

beforeAll(async () => {
  // The workflow reads a key from Secrets Manager that the provider does not accept.
  fixture = await startStackFixture({ providerApiKey: 'the-real-key', workflowApiKey: 'a-stale-key' });
});

afterAll(async () => {
  await fixture?.close();
});

it('a wrong provider key ends the job FAILED with PROVIDER_AUTH_FAILED, without retrying', async () => {
  const { json } = await postJob(fixture.stack.apiUrl, { model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] });
  const { job } = await waitForJob(fixture.stack.apiUrl, json.jobId);
  expect(job.status).toBe('FAILED');
  expect(job.error?.code).toBe('PROVIDER_AUTH_FAILED');
  expect(job.error?.message).toMatch(/401/);
  expect(fixture.stack.simulator.tasks()).toHaveLength(0);
});
