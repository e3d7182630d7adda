import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../testkit/seeded-random.js';
import { HISTORY_KEY_PREFIX } from '../../contracts/tables.js';
import { drawSeconds } from '../../local/simulator/task-clock.js';
import {
  createGenerationHistory,
  estimateFromSamples,
  historyKey,
  HISTORY_SAMPLES,
  MIN_HISTORY_SAMPLES,
  newestSamples,
  type GenerationHistory,
} from '../../runtime/workflow/polling/generation-history.js';
import { JOB_KIND, type JobRecord, type RequestShape } from '../../runtime/domain/job.js';
import { createJobRepository } from '../../runtime/aws/job-repository.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

const SHAPE: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };

function lognormalSamples(count: number, medianSeconds: number, sigma: number, random: () => number): number[] {
  return Array.from({ length: count }, () => drawSeconds({ medianSeconds, sigma }, random));
}

describe('estimateFromSamples', () => {
  it('fits the lognormal: the median is the geometric mean, sigma the spread of the logs', () => {
    // Logs at ln 100 ± 0.3, five each: mean ln 100, sample variance 10 × 0.09 / 9.
    const samples = Array.from({ length: 10 }, (_, index) => 100 * Math.exp(index % 2 === 0 ? 0.3 : -0.3));
    const estimate = estimateFromSamples(samples)!;
    expect(estimate.medianSeconds).toBeCloseTo(100, 9);
    expect(estimate.sigma).toBeCloseTo(Math.sqrt(0.1), 9);
    expect(estimate.samples).toBe(10);
  });

  it('recovers the generation time of a lognormal provider from a full window', () => {
    const estimate = estimateFromSamples(lognormalSamples(HISTORY_SAMPLES, 120, 0.5, seededRandom(7)))!;
    expect(estimate.samples).toBe(HISTORY_SAMPLES);
    expect(estimate.medianSeconds).toBeGreaterThan(120 * 0.8);
    expect(estimate.medianSeconds).toBeLessThan(120 * 1.25);
    expect(estimate.sigma).toBeGreaterThan(0.35);
    expect(estimate.sigma).toBeLessThan(0.65);
  });

  it(`says nothing from fewer than ${MIN_HISTORY_SAMPLES} samples`, () => {
    expect(MIN_HISTORY_SAMPLES).toBe(10);
    expect(estimateFromSamples([])).toBeUndefined();
    expect(estimateFromSamples(Array.from({ length: MIN_HISTORY_SAMPLES - 1 }, () => 90))).toBeUndefined();
    expect(estimateFromSamples(Array.from({ length: MIN_HISTORY_SAMPLES }, () => 90))).toBeDefined();
  });

  it('counts only positive, finite samples toward the minimum', () => {
    const good = Array.from({ length: MIN_HISTORY_SAMPLES - 1 }, () => 90);
    expect(estimateFromSamples([...good, 0, -5, Number.NaN])).toBeUndefined();
    const estimate = estimateFromSamples([...good, 0, 110, -3])!;
    expect(estimate.samples).toBe(MIN_HISTORY_SAMPLES);
    expect(Number.isFinite(estimate.medianSeconds)).toBe(true);
    expect(Number.isFinite(estimate.sigma)).toBe(true);
  });

  it('never gets more certain than sigma 0.15, however alike the samples', () => {
    const identical = estimateFromSamples(Array.from({ length: 20 }, () => 75))!;
    expect(identical.medianSeconds).toBeCloseTo(75, 9);
    expect(identical.sigma).toBe(0.15);
    const nearly = estimateFromSamples(Array.from({ length: 20 }, (_, index) => 75 + (index % 2)))!;
    expect(nearly.sigma).toBe(0.15);
    // A real spread is kept as it is.
    expect(estimateFromSamples(lognormalSamples(30, 75, 0.4, seededRandom(3)))!.sigma).toBeGreaterThan(0.15);
  });
});

describe('newestSamples', () => {
  it(`keeps the newest ${HISTORY_SAMPLES}, in order, and leaves a short list whole`, () => {
    expect(HISTORY_SAMPLES).toBe(50);
    const seventy = Array.from({ length: 70 }, (_, index) => index + 1);
    const kept = newestSamples(seventy);
    expect(kept).toHaveLength(HISTORY_SAMPLES);
    expect(kept[0]).toBe(21);
    expect(kept.at(-1)).toBe(70);
    expect(newestSamples([1, 2, 3])).toEqual([1, 2, 3]);
    expect(seventy).toHaveLength(70);
  });
});

describe('historyKey', () => {
  const shapes: RequestShape[] = [];
  for (const duration of [-1, 4, 5, 6, 10, 12, 15])
    for (const resolution of ['480p', '720p'] as const)
      for (const generateAudio of [false, true])
        for (const media of ['text', 'image', 'video'] as const) shapes.push({ duration, resolution, generateAudio, media });

  it('is one key per request shape, under the history prefix', () => {
    const keys = shapes.map(historyKey);
    expect(new Set(keys).size).toBe(shapes.length);
    for (const key of keys) expect(key.startsWith(HISTORY_KEY_PREFIX)).toBe(true);
    expect(HISTORY_KEY_PREFIX).toBe('generation-history#');
  });

  it('names every part of the shape, and duration -1 (model decides) as its own "auto" shape', () => {
    expect(historyKey(SHAPE)).toBe('generation-history#5s#720p#audio#text');
    expect(historyKey({ duration: -1, resolution: '480p', generateAudio: false, media: 'video' })).toBe('generation-history#auto#480p#silent#video');
    expect(historyKey({ ...SHAPE, duration: -1 })).not.toBe(historyKey(SHAPE));
  });

  it('never collides with a job id (a UUID, or idem-/batch-/upload- and a hash)', () => {
    const jobId = /^((idem|batch|upload)-[0-9a-f]{40}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
    expect('idem-0123456789abcdef0123456789abcdef01234567').toMatch(jobId);
    for (const shape of shapes) expect(historyKey(shape)).not.toMatch(jobId);
  });
});

describe('createGenerationHistory against DynamoDB (dynalite)', () => {
  let table: Awaited<ReturnType<typeof startJobsTable>>;
  let history: GenerationHistory;

  beforeAll(async () => {
    table = await startJobsTable();
    history = createGenerationHistory(table.documents, table.tableName);
  });

  afterAll(async () => {
    await table?.close();
  });

  const shape = (duration: number): RequestShape => ({ ...SHAPE, duration });
  const itemOf = async (of: RequestShape) =>
    (await table.documents.send(new GetCommand({ TableName: table.tableName, Key: { jobId: historyKey(of) }, ConsistentRead: true }))).Item as
      { samples: number[]; updatedAt: string } | undefined;

  it('answers undefined for a shape no job has finished', async () => {
    expect(await history.load(shape(15))).toBeUndefined();
    expect(await itemOf(shape(15))).toBeUndefined();
  });

  it(`answers an estimate once ${MIN_HISTORY_SAMPLES} jobs of the shape finished, and only for that shape`, async () => {
    const of = shape(4);
    const samples = lognormalSamples(MIN_HISTORY_SAMPLES, 100, 0.4, seededRandom(11));
    for (const [index, seconds] of samples.entries()) {
      expect(await history.load(of), `after ${index} samples`).toBeUndefined();
      await history.record(of, seconds);
    }
    const estimate = await history.load(of);
    expect(estimate).toEqual(estimateFromSamples(samples));
    expect(estimate!.samples).toBe(MIN_HISTORY_SAMPLES);
    const item = await itemOf(of);
    expect(item).toMatchObject({ samples });
    expect(Number.isNaN(Date.parse(item!.updatedAt))).toBe(false);
    // Other shapes, the "auto" duration among them, learned nothing.
    expect(await history.load(shape(-1))).toBeUndefined();
    expect(await history.load({ ...of, resolution: '480p' })).toBeUndefined();
  });

  it(`keeps the newest ${HISTORY_SAMPLES} samples of a busy shape`, async () => {
    const of = shape(10);
    for (let seconds = 1; seconds <= HISTORY_SAMPLES + 15; seconds += 1) await history.record(of, 100 + seconds);
    const item = await itemOf(of);
    expect(item!.samples).toHaveLength(HISTORY_SAMPLES);
    expect(item!.samples[0]).toBe(116);
    expect(item!.samples.at(-1)).toBe(100 + HISTORY_SAMPLES + 15);
    expect((await history.load(of))!.samples).toBe(HISTORY_SAMPLES);
  });

  it('concurrent records all land: the append is atomic, and the window is trimmed back to its size', async () => {
    const of = shape(6);
    const values = Array.from({ length: 20 }, (_, index) => 1000 + index);
    await Promise.all(values.map((seconds) => history.record(of, seconds)));
    const item = await itemOf(of);
    expect([...item!.samples].sort()).toEqual(values);
    // A busy shape past the window: whatever the interleaving, the next lone record trims what is over.
    await Promise.all(Array.from({ length: HISTORY_SAMPLES }, (_, index) => history.record(of, 3000 + index)));
    await history.record(of, 9999);
    const after = await itemOf(of);
    expect(after!.samples).toHaveLength(HISTORY_SAMPLES);
    expect(after!.samples.at(-1)).toBe(9999);
    expect(after!.samples.every((seconds) => seconds >= 3000)).toBe(true);
  });

  it('a store error fails the call, on load and on record (the PollTask handler logs it and goes on)', async () => {
    const missing = createGenerationHistory(table.documents, 'NoSuchTable');
    await expect(missing.load(SHAPE)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.record(SHAPE, 90)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('a history item is not a job: no job listing, status query or in-flight count sees it', async () => {
    const jobs = createJobRepository(table.documents, table.tableName);
    const job: JobRecord = {
      jobId: 'job-listed',
      kind: JOB_KIND,
      status: 'RUNNING',
      progress: 30,
      trigger: { type: 'schedule', source: 'test' },
      createdAt: '2026-11-24T12:00:00.000Z',
      updatedAt: '2026-11-24T12:00:00.000Z',
      deadlineAt: '2026-11-24T12:30:00.000Z',
      executionArn: 'arn:listed',
    };
    await jobs.create(job);
    await history.record(shape(-1), 80);
    const listed = await jobs.list({ limit: 100 });
    expect(listed.jobs.map((candidate) => candidate.jobId)).toEqual(['job-listed']);
    for (const status of ['QUEUED', 'SUBMITTED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const) {
      const page = await jobs.list({ status, limit: 100 });
      expect(
        page.jobs.filter((candidate) => candidate.jobId.startsWith(HISTORY_KEY_PREFIX)),
        status,
      ).toEqual([]);
    }
    expect((await jobs.listActive()).map((candidate) => candidate.jobId)).toEqual(['job-listed']);
    expect(await jobs.listDeferred()).toEqual([]);
    // GET /jobs/{jobId} and DELETE read a job by key: a history key is no job.
    expect(await jobs.get(historyKey(shape(-1)))).toBeUndefined();
  });
});
