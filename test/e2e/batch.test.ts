import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { scheduledEvent } from '../../local/emulators/eventbridge/schedules.js';
import type { BatchReport } from '../../runtime/triggers/batch-runner.js';
import type { ManifestProgress } from '../../runtime/triggers/manifest-repository.js';
import { localS3Client } from '../../testkit/local-s3.js';
import { getJob, postJob, startStackFixture, type JobAnswer, type StackFixture } from '../../testkit/local-stack-fixture.js';

const CAP = 5;
const LINES = 50;

let fixture: StackFixture;
let s3: S3Client;

beforeAll(async () => {
  fixture = await startStackFixture({ context: { maxJobsInFlight: CAP } });
  s3 = localS3Client(fixture.stack);
});

afterAll(async () => {
  s3?.destroy();
  await fixture?.close();
});

type ListedJob = JobAnswer & { trigger: { type: string; source: string }; executionArn?: string };

async function listJobs(query: string): Promise<ListedJob[]> {
  const jobs: ListedJob[] = [];
  let url: string | undefined = `${fixture.stack.apiUrl}/jobs?${query}&limit=100`;
  while (url) {
    const page = (await (await fetch(url)).json()) as { jobs: ListedJob[]; links?: { next?: string } };
    jobs.push(...page.jobs);
    url = page.links?.next;
  }
  return jobs;
}

/**
 * What the cap bounds: the manifest's tasks the provider counts as unfinished. Not the jobs still
 * RUNNING: a job whose task has ended gives its slot back while its video is copied.
 */
async function inFlight(): Promise<number> {
  return fixture.stack.simulator.quota().activeTasks;
}

/** The batch function's progress record of the current version of a manifest, read from its table. */
async function manifestProgress(key: string): Promise<ManifestProgress | undefined> {
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: fixture.stack.environment.AWS_ENDPOINT_URL_DYNAMODB }));
  try {
    const tables = (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
    const head = await s3.send(new HeadObjectCommand({ Bucket: fixture.stack.bucket, Key: key }));
    const manifestId = `${key}#${head.ETag!.replaceAll('"', '')}`;
    for (const table of tables.filter((name) => name.includes('Manifests'))) {
      const item = (await dynamo.send(new GetCommand({ TableName: table, Key: { manifestId } }))).Item;
      if (item) return item as ManifestProgress;
    }
    return undefined;
  } finally {
    dynamo.destroy();
  }
}

const runBatch = () => fixture.stack.invokeFunction('batch-runner', scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/test')) as Promise<BatchReport>;

/** Uploads a manifest; the manifest rule runs the batch function, which puts its lines in the line. */
async function putManifest(key: string, lines: string[]) {
  await s3.send(new PutObjectCommand({ Bucket: fixture.stack.bucket, Key: key, Body: `${lines.join('\n')}\n` }));
  await fixture.stack.deliveriesIdle();
}

const line = (id: string, text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, model: 'seedance-fast', content: [{ type: 'text', text }], duration: 4, generate_audio: false, ...extra });

describe(`a ${LINES}-line manifest with maxJobsInFlight ${CAP}`, () => {
  it('runs every line exactly once and never has more than the cap in flight', async () => {
    await putManifest(
      'batches/fifty.jsonl',
      Array.from({ length: LINES }, (_, index) => line(`clip-${index + 1}`, `Clip number ${index + 1}`)),
    );
    const started = Date.now();
    let maxInFlight = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxInFlight = Math.max(maxInFlight, await inFlight());
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // No batch run after the upload's own: every slot freed by a job that ended starts the next line.
    await expect.poll(async () => (await listJobs('status=SUCCEEDED&trigger=schedule')).length, { timeout: 120_000, interval: 150 }).toBe(LINES);
    sampling = false;
    await sampler;
    const seconds = (Date.now() - started) / 1000;
    console.log(`${LINES}-line manifest, cap ${CAP}: max in flight ${maxInFlight} over ${samples} samples, ${seconds.toFixed(1)} s`);

    expect(maxInFlight).toBeLessThanOrEqual(CAP);
    expect(maxInFlight).toBeGreaterThan(1);
    const jobs = await listJobs('trigger=schedule');
    expect(jobs).toHaveLength(LINES);
    expect(jobs.every((job) => job.status === 'SUCCEEDED')).toBe(true);
    // None started twice: one provider task per line, one completion event per job.
    const prompts = fixture.stack.simulator.tasks().map((task) => (task.request.content[0] as { text: string }).text);
    expect(prompts.filter((prompt) => prompt.startsWith('Clip number '))).toHaveLength(LINES);
    expect(new Set(prompts).size).toBe(prompts.length);
    await fixture.stack.deliveriesIdle();
    const succeededEvents = fixture.stack.events().filter((event) => event['detail-type'] === 'Job Succeeded');
    for (const job of jobs) {
      expect(succeededEvents.filter((event) => (event.detail as { jobId: string }).jobId === job.jobId)).toHaveLength(1);
    }
    // Another run finds the manifest done and queues nothing.
    const after = await runBatch();
    expect(after.queuedFromManifests).toBe(0);
    expect(after.manifests.find((manifest) => manifest.key === 'batches/fifty.jsonl')).toBeUndefined();
  }, 180_000);
});

describe('a manifest with a bad line', () => {
  it('records the line as a FAILED job with its issues and goes on with the others', async () => {
    await putManifest('batches/mixed.jsonl', [
      line('good-1', 'A good line'),
      line('bad', 'A bad line', { duration: 99 }),
      'this is not json',
      '',
      line('good-2', 'Another good line'),
    ]);
    expect(await manifestProgress('batches/mixed.jsonl')).toMatchObject({ totalLines: 5, nextLine: 5, started: 2, rejected: 2, status: 'DONE' });
    const jobs = (await listJobs('trigger=schedule')).filter((job) => job.trigger.source.startsWith(`s3://${fixture.stack.bucket}/batches/mixed.jsonl`));
    const failed = jobs.filter((job) => job.status === 'FAILED');
    expect(failed.map((job) => job.trigger.source).sort()).toEqual([
      `s3://${fixture.stack.bucket}/batches/mixed.jsonl#L2`,
      `s3://${fixture.stack.bucket}/batches/mixed.jsonl#L3`,
    ]);
    const badLine = await getJob(fixture.stack.apiUrl, failed.find((job) => job.trigger.source.endsWith('#L2'))!.jobId);
    expect(badLine.error?.code).toBe('VALIDATION_ERROR');
    expect((badLine.error as unknown as { issues: { path: string }[] }).issues.map((issue) => issue.path)).toContain('duration');
    // A rerun of a done manifest starts nothing again.
    const rerun = await runBatch();
    expect(rerun.manifests.find((manifest) => manifest.key === 'batches/mixed.jsonl')).toBeUndefined();
  });
});

/** Waits until no job holds the provider, so a test's batch run has the whole cap to itself. */
async function settle(): Promise<void> {
  await vi.waitFor(
    async () => {
      const active = await Promise.all(['SUBMITTED', 'RUNNING', 'QUEUED'].map((status) => listJobs(`status=${status}`)));
      if (!active.flat().every((job) => job.status === 'QUEUED' && !job.executionArn)) throw new Error('jobs still in flight after 30 s');
    },
    { timeout: 30_000, interval: 50 },
  );
}

describe('lines whose id names another body', () => {
  beforeEach(settle);
  const jobsOf = async (key: string) =>
    (await listJobs('trigger=schedule')).filter((job) => job.trigger.source.startsWith(`s3://${fixture.stack.bucket}/${key}#`));

  it('two lines with one id and two bodies: the first runs, the second is refused with LINE_ID_CONFLICT, and the batch goes on', async () => {
    await putManifest('batches/dup-id.jsonl', [
      line('same', 'The first body of same'),
      line('same', 'Another body of same'),
      line('after', 'A line after them'),
    ]);
    await putManifest('batches/dup-id-z-next.jsonl', [line('next', 'A line of the next manifest')]);
    expect(await manifestProgress('batches/dup-id.jsonl')).toMatchObject({ totalLines: 3, nextLine: 3, started: 2, rejected: 1, status: 'DONE' });
    expect(await manifestProgress('batches/dup-id-z-next.jsonl')).toMatchObject({ started: 1, status: 'DONE' });
    const jobs = await jobsOf('batches/dup-id.jsonl');
    const refused = jobs.find((job) => job.trigger.source.endsWith('#L2'))!;
    expect(refused.status).toBe('FAILED');
    expect(refused.error?.code).toBe('LINE_ID_CONFLICT');
    expect(refused.error?.message).toMatch(/id "same"/);
    const first = jobs.find((job) => job.trigger.source.endsWith('#L1'))!;
    expect((first.request.content[0] as unknown as { text: string }).text).toBe('The first body of same');
    // Nothing ran the second body.
    const prompts = fixture.stack.simulator.tasks().map((task) => (task.request.content[0] as { text?: string }).text);
    expect(prompts).not.toContain('Another body of same');
    const progress = await manifestProgress('batches/dup-id.jsonl');
    expect(progress?.rejectedLines).toEqual([{ line: 2, jobId: refused.jobId, code: 'LINE_ID_CONFLICT' }]);
    // The manifest is done: later runs do not trip over it again.
    expect((await runBatch()).manifests.find((manifest) => manifest.key === 'batches/dup-id.jsonl')).toBeUndefined();
  });

  it("a manifest uploaded again with an id'd line edited: the edit is refused, its new lines run, and the batch never wedges", async () => {
    await putManifest('batches/edited.jsonl', [line('keep', 'A line kept as it was'), line('edit', 'The body before the edit')]);
    expect(await manifestProgress('batches/edited.jsonl')).toMatchObject({ started: 2, status: 'DONE' });
    await settle();
    await putManifest('batches/edited.jsonl', [
      line('keep', 'A line kept as it was'),
      line('edit', 'The body after the edit'),
      line('added', 'A line added in the new version'),
    ]);
    expect(await manifestProgress('batches/edited.jsonl')).toMatchObject({ totalLines: 3, nextLine: 3, started: 1, rejected: 1, status: 'DONE' });
    await settle();
    const refused = (await jobsOf('batches/edited.jsonl')).filter((job) => job.error?.code === 'LINE_ID_CONFLICT');
    expect(refused.map((job) => job.trigger.source)).toEqual([`s3://${fixture.stack.bucket}/batches/edited.jsonl#L2`]);
    const prompts = fixture.stack.simulator.tasks().map((task) => (task.request.content[0] as { text?: string }).text);
    expect(prompts).toContain('A line added in the new version');
    expect(prompts).not.toContain('The body after the edit');
    expect(prompts.filter((prompt) => prompt === 'A line kept as it was')).toHaveLength(1);
  });

  it('a line over the body limit is refused with PAYLOAD_TOO_LARGE before anything starts, and the lines after it run', async () => {
    const huge = line('huge', 'x'.repeat(10), { metadata: { pad: 'y' } }).replace('"y"', `"${'y'.repeat(10 * 1024 * 1024)}"`);
    await putManifest('batches/huge-line.jsonl', [huge, line('small', 'A small line after a huge one')]);
    expect(await manifestProgress('batches/huge-line.jsonl')).toMatchObject({ started: 1, rejected: 1, status: 'DONE' });
    const refused = (await jobsOf('batches/huge-line.jsonl')).find((job) => job.trigger.source.endsWith('#L1'))!;
    expect(refused.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('POST /jobs?schedule=batch', () => {
  beforeEach(settle);
  it('records the job without starting it; the next batch run puts it in the line, where it starts', async () => {
    const { response, json } = await postJob(
      `${fixture.stack.apiUrl}`,
      {
        model: 'seedance-fast',
        content: [{ type: 'text', text: 'A deferred sunrise' }],
      },
      {},
    );
    expect(response.status).toBe(202);
    const deferredPost = await fetch(`${fixture.stack.apiUrl}/jobs?schedule=batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A deferred sunset' }] }),
    });
    const deferred = (await deferredPost.json()) as { jobId: string; deferred: boolean };
    expect(deferredPost.status).toBe(202);
    expect(deferred.deferred).toBe(true);
    expect(fixture.stack.engine.listExecutions().some((execution) => execution.name === deferred.jobId)).toBe(false);
    expect(await getJob(fixture.stack.apiUrl, deferred.jobId)).toMatchObject({ status: 'QUEUED', deferred: true });

    const report = await runBatch();
    expect(report.queuedDeferred).toBe(1);
    expect(report.dispatch.started).toContain(deferred.jobId);
    const started = await getJob(fixture.stack.apiUrl, deferred.jobId);
    expect(started).not.toHaveProperty('deferred');
    expect(fixture.stack.engine.listExecutions().some((execution) => execution.name === deferred.jobId)).toBe(true);
    expect(json.jobId).not.toBe(deferred.jobId);
  });

  it('refuses an unknown schedule with a 400 naming the query parameter', async () => {
    const answer = await fetch(`${fixture.stack.apiUrl}/jobs?schedule=tomorrow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'x' }] }),
    });
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { error: { issues: { path: string }[] } };
    expect(body.error.issues[0]?.path).toBe('query.schedule');
  });
});
