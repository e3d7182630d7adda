/**
 * The run's traffic: N jobs through the three triggers (POST /jobs, some twice under an
 * Idempotency-Key; spec uploads under incoming/; lines of batch manifests under batches/, started by
 * the batch loop), with the hostile cases mixed in, paced by config.maxActive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { uploadJobId } from '../../runtime/triggers/upload-intake.js';
import { seededRandom } from '../seeded-random.js';
import { startBatchLoop, type BatchLoop } from './batches.js';
import type { TriggerKind } from './config.js';
import { jobsOf, mixInto, placeIdConflicts, planHostile, type HostilePlan } from './hostile-cases.js';
import { prepareHostile, submitHostile, type HostileContext } from './hostile-submit.js';
import { pool } from './pool.js';
import type { ChaosStack } from './stack.js';

export interface Submission {
  index: number;
  prompt: string;
  kind: TriggerKind;
  /** Known up front for HTTP (from the answer) and uploads (derived from bucket, key and ETag). */
  expectedJobId?: string;
  /** Where it went: the upload key, the manifest line. */
  source?: string;
  /** A submission that did not get the expected answer (a 5xx, a network error, two job ids...). */
  problem?: string;
}

export interface Submitted {
  submissions: Submission[];
  batchLines: Submission[];
  manifests: { key: string; lines: Submission[] }[];
  hostilePlan: HostilePlan;
  idempotentRetries: { sent: number; sameJob: number };
  /** Still running: it starts the manifests' lines until they are done or it is stopped. */
  batches: BatchLoop;
  submitSeconds: number;
}

const PROMPT_PREFIX = 'Chaos job ';

/** The shares of the chaos run: 40 % HTTP (a third of them with an Idempotency-Key), 40 % S3, 20 % batch. */
function kindOf(index: number): TriggerKind {
  switch (index % 15) {
    case 0:
    case 5:
    case 10:
      return 'batch';
    case 1:
    case 8:
      return 'http-idempotent';
    case 3:
    case 6:
    case 11:
    case 13:
      return 'http';
    default:
      return 's3';
  }
}

const jobBody = (prompt: string) => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text: prompt }],
  duration: 4,
  resolution: '480p',
  generate_audio: false,
});

async function postJob(apiUrl: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${apiUrl}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let jobId: string | undefined;
  try {
    jobId = (JSON.parse(text) as { jobId?: string }).jobId;
  } catch {
    // reported with the status below
  }
  return { status: response.status, jobId, text };
}

/** Sends every submission and hostile case; returns once the HTTP/S3 ones are sent and their S3 events delivered. */
export async function submitAll(chaos: ChaosStack): Promise<Submitted> {
  const { config, stack, s3, log, since, started } = chaos;
  const random = seededRandom(config.seed);
  const submissions: Submission[] = Array.from({ length: config.jobs }, (_, i) => ({
    index: i + 1,
    prompt: `${PROMPT_PREFIX}${i + 1}`,
    kind: kindOf(i + 1),
  }));
  const batchLines = submissions.filter((submission) => submission.kind === 'batch');
  const manifests: { key: string; lines: Submission[] }[] = [];
  for (let at = 0; at < batchLines.length; at += config.manifestLines) {
    const lines = batchLines.slice(at, at + config.manifestLines);
    const key = `batches/chaos-${String(manifests.length + 1).padStart(3, '0')}.jsonl`;
    manifests.push({ key, lines });
  }
  // Its own seed: the hostile cases leave the normal mix and the crash draws as they were.
  const hostileRandom = seededRandom(config.seed ^ 0x4057113);
  const hostilePlan = planHostile(
    config.jobs,
    manifests.map((manifest) => ({ key: manifest.key, lines: manifest.lines.length })),
    hostileRandom,
  );
  const hostileContext: HostileContext = { apiUrl: stack.apiUrl, s3, bucket: stack.bucket, random: hostileRandom, jobBody };
  await prepareHostile(hostileContext);
  // Each manifest's rows as written, id conflicts in place: a line's number is its place here.
  const manifestRows = manifests.map((manifest) => {
    const rows = placeIdConflicts(
      manifest.key,
      manifest.lines.map((line) => ({ id: `chaos-${line.index}`, line })),
      hostilePlan.idConflicts,
      hostileRandom,
    );
    rows.forEach((row, offset) => {
      const source = `s3://${stack.bucket}/${manifest.key}#L${offset + 1}`;
      if ('kind' in row) row.line = offset + 1;
      else row.line.source = source;
    });
    return rows;
  });
  const idempotentRetries = { sent: 0, sameJob: 0 };

  const submit = async (submission: Submission): Promise<void> => {
    const body = jobBody(submission.prompt);
    try {
      if (submission.kind === 'http') {
        const answer = await postJob(stack.apiUrl, body);
        submission.expectedJobId = answer.jobId;
        if (answer.status !== 202) submission.problem = `POST /jobs answered ${answer.status}: ${answer.text.slice(0, 200)}`;
      } else if (submission.kind === 'http-idempotent') {
        const key = `chaos-${config.seed}-${submission.index}`;
        // The same POST twice, the second 0-50 ms after the first: sometimes both are in flight at once.
        const gap = Math.floor(random() * 50);
        const [first, second] = await Promise.all([
          postJob(stack.apiUrl, body, { 'idempotency-key': key }),
          sleep(gap).then(() => postJob(stack.apiUrl, body, { 'idempotency-key': key })),
        ]);
        idempotentRetries.sent += 1;
        submission.expectedJobId = first.jobId ?? second.jobId;
        const statuses = [first.status, second.status].sort().join('+');
        if (first.jobId && first.jobId === second.jobId && (statuses === '200+202' || statuses === '200+200' || statuses === '202+202')) {
          idempotentRetries.sameJob += 1;
          // 202 twice would mean two "new" jobs under one key: note it, it is one job id all the same.
          if (statuses === '202+202') submission.problem = `both POSTs under Idempotency-Key ${key} answered 202 (one job id)`;
        } else {
          submission.problem = `POST twice under Idempotency-Key ${key} answered ${first.status} ${first.jobId ?? first.text.slice(0, 120)} and ${second.status} ${second.jobId ?? second.text.slice(0, 120)}`;
        }
      } else if (submission.kind === 's3') {
        const key = `incoming/chaos/job-${submission.index}.json`;
        submission.source = `s3://${stack.bucket}/${key}`;
        const answer = await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json' }));
        submission.expectedJobId = uploadJobId({ bucket: stack.bucket, key, etag: answer.ETag!.replaceAll('"', '') });
      }
    } catch (error) {
      submission.problem = `${submission.kind} submission threw: ${(error as Error).message}`;
    }
  };

  // Manifests go up first, so the batch loop has lines to start while the rest is submitted.
  for (const [m, manifest] of manifests.entries()) {
    const text = manifestRows[m]!.map((row) => JSON.stringify({ id: row.id, ...jobBody('kind' in row ? row.prompt : row.line.prompt) })).join('\n');
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: manifest.key, Body: `${text}\n` }));
  }
  const batches = startBatchLoop(chaos, manifests);

  const others = submissions.filter((submission) => submission.kind !== 'batch');
  const traffic = mixInto(others, hostilePlan.pooled, hostileRandom);
  let submittedCount = 0;
  // A refused manifest line is announced like any job: counted here so the estimate stays exact.
  let claimed = hostilePlan.idConflicts.length;
  // Jobs started and not yet announced: every job, whatever its end, is announced once (or more).
  const activeEstimate = () => {
    const announced = new Set(stack.events().map((event) => (event.detail as { jobId?: string } | undefined)?.jobId));
    return claimed + batches.stats.startedFromManifests - announced.size;
  };
  let pacedMs = 0;
  await pool(traffic, config.concurrency, async (item) => {
    if (config.maxActive > 0) {
      const waitStart = Date.now();
      while (activeEstimate() >= config.maxActive) await sleep(20);
      pacedMs += Date.now() - waitStart;
    }
    if ('hostile' in item) {
      claimed += jobsOf(item.hostile);
      await submitHostile(item.hostile, hostileContext);
    } else {
      claimed += 1;
      await submit(item);
    }
    submittedCount += 1;
    if (submittedCount % 100 === 0) log(`[${since()} s] submitted ${submittedCount}/${traffic.length} HTTP/S3 submissions`);
  });
  const submitSeconds = (Date.now() - started) / 1000;
  log(
    `[${since()} s] all ${others.length} HTTP/S3 submissions and ${hostilePlan.pooled.length} hostile ones sent (paced ${(pacedMs / 1000).toFixed(1)} s in total over ${config.concurrency} workers); waiting for S3 deliveries and batch lines`,
  );
  await stack.deliveriesIdle();
  return { submissions, batchLines, manifests, hostilePlan, idempotentRetries, batches, submitSeconds };
}
