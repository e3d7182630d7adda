import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_MANIFEST_BYTES, runBatch, type BatchDeps } from '../../runtime/triggers/batch-runner.js';
import { ConflictError } from '../../runtime/domain/errors.js';
import { createJobRepository, type JobRepository } from '../../runtime/aws/job-repository.js';
import { MAX_LINE_ATTEMPTS, type ManifestProgress, type ManifestRepository } from '../../runtime/triggers/manifest-repository.js';
import { intakeTestDeps } from '../../testkit/intake-deps.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

/** The batch function's core against a real (local) Jobs table; the bucket holds two manifests in memory. */

let table: Awaited<ReturnType<typeof startJobsTable>>;
let jobs: JobRepository;

beforeAll(async () => {
  table = await startJobsTable();
  jobs = createJobRepository(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

const line = (id: string, text: string) => JSON.stringify({ id, model: 'seedance-fast', content: [{ type: 'text', text }] });

/** ListObjectsV2 and GetObject over fixed manifests, as S3 answers them. */
function bucketOf(manifests: Record<string, { text: string; bytes?: number }>): S3Client {
  const send = async (command: unknown) => {
    if (command instanceof ListObjectsV2Command) {
      return {
        Contents: Object.entries(manifests).map(([key, manifest]) => ({
          Key: key,
          ETag: `"etag-${key}"`,
          Size: manifest.bytes ?? Buffer.byteLength(manifest.text),
        })),
      };
    }
    if (command instanceof GetObjectCommand) {
      const text = manifests[command.input.Key!]!.text;
      return { Body: { transformToString: async () => text } };
    }
    throw new Error(`unexpected ${String(command)}`);
  };
  return { send } as unknown as S3Client;
}

/** The Manifests table's conditional save, in memory. */
function manifestsInMemory(): ManifestRepository & { saved: Map<string, ManifestProgress> } {
  const saved = new Map<string, ManifestProgress>();
  return {
    saved,
    get: async (manifestId) => structuredClone(saved.get(manifestId)),
    save: async (progress, expectedNextLine) => {
      if (saved.get(progress.manifestId)?.nextLine !== expectedNextLine) throw new ConflictError('moved');
      saved.set(progress.manifestId, structuredClone(progress));
    },
  };
}

function batchDeps(s3: S3Client, manifests: ManifestRepository, repository: JobRepository): BatchDeps {
  return {
    ...intakeTestDeps(table, { jobs: repository, now: () => new Date('2026-12-04T12:00:00Z') }),
    s3,
    bucket: 'bucket',
    manifests,
    stopAt: new Date('2026-12-04T12:05:00Z'),
  };
}

it(`a line that keeps failing holds its manifest for ${MAX_LINE_ATTEMPTS} runs at most, then is refused (LINE_FAILED) and the rest runs; other manifests never wait`, async () => {
  const s3 = bucketOf({
    'batches/a-cursed.jsonl': {
      text: [line('fine-1', 'A fine line'), line('cursed', 'A line that breaks us'), line('fine-2', 'Another fine line')].join('\n'),
    },
    'batches/b-other.jsonl': { text: line('other', 'A line of another manifest') },
  });
  const manifests = manifestsInMemory();
  // A fault we did not foresee, every time this one line's job is recorded.
  const failing: JobRepository = {
    ...jobs,
    create: async (job) => {
      if ((job.request?.content[0] as { text?: string } | undefined)?.text === 'A line that breaks us') throw new Error('an unforeseen fault');
      return jobs.create(job);
    },
  };
  const deps = batchDeps(s3, manifests, failing);
  const reports = [];
  for (let run = 0; run < MAX_LINE_ATTEMPTS; run += 1) reports.push(await runBatch(deps));
  const cursedReports = reports.map((report) => report.manifests.find((manifest) => manifest.key === 'batches/a-cursed.jsonl')!);
  expect(cursedReports.slice(0, -1).map((report) => report.error)).toEqual(Array<string>(MAX_LINE_ATTEMPTS - 1).fill('line 2: an unforeseen fault'));
  expect(cursedReports.at(-1)).toMatchObject({ nextLine: 3, done: true, rejectedNow: 1 });
  // The other manifest ran in the first run already.
  expect(reports[0]!.manifests.find((manifest) => manifest.key === 'batches/b-other.jsonl')).toMatchObject({ queuedNow: 1, done: true });
  const progress = manifests.saved.get('batches/a-cursed.jsonl#etag-batches/a-cursed.jsonl')!;
  expect(progress).toMatchObject({ status: 'DONE', started: 2, rejected: 1 });
  const [refused] = progress.rejectedLines;
  expect(refused).toMatchObject({ line: 2, code: 'LINE_FAILED' });
  expect(await jobs.get(refused!.jobId)).toMatchObject({
    status: 'FAILED',
    error: { code: 'LINE_FAILED', message: expect.stringMatching(/failed in 3 batch runs.*an unforeseen fault/) },
  });
});

it('a manifest over the size limit is refused as a whole, recorded with the reason, and never read', async () => {
  const s3 = bucketOf({ 'batches/huge.jsonl': { text: line('x', 'never read'), bytes: MAX_MANIFEST_BYTES + 1 } });
  const manifests = manifestsInMemory();
  const report = await runBatch(batchDeps(s3, manifests, jobs));
  expect(report.manifests).toEqual([expect.objectContaining({ key: 'batches/huge.jsonl', queuedNow: 0, done: true })]);
  expect(manifests.saved.get('batches/huge.jsonl#etag-batches/huge.jsonl')).toMatchObject({
    status: 'REFUSED',
    error: { code: 'PAYLOAD_TOO_LARGE' },
  });
  expect((await runBatch(batchDeps(s3, manifests, jobs))).manifests).toEqual([]);
});
