import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LocalStack } from '../local/stack/local-stack.js';
import { getJob, postJob, type JobAnswer } from './local-stack-fixture.js';

/** A burst of jobs fired at once through the three triggers, as the flow-control tests and the burst bench send them. */

export type BurstTrigger = 'http' | 's3' | 'batch';

export interface BurstJob {
  prompt: string;
  trigger: BurstTrigger;
}

/** The prompts of `count` jobs, shared out as 50 % POST /jobs, 30 % uploads, 20 % manifest lines. */
export function burstJobs(count: number, tag: string): BurstJob[] {
  return Array.from({ length: count }, (_, index) => {
    const slot = index % 10;
    const trigger: BurstTrigger = slot < 5 ? 'http' : slot < 8 ? 's3' : 'batch';
    return { prompt: `${tag} burst job ${index + 1}`, trigger };
  });
}

export const burstBody = (prompt: string) => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text: prompt }],
  duration: 4,
  resolution: '480p',
  generate_audio: false,
});

/** What a POST /jobs of the burst met: its answer (the job started at once, or waits in the line), or why it had none. */
export type PostOutcome = ({ jobId: string; waiting: boolean } | { failure: string }) & { answeredMs: number };

export interface FireOptions {
  /** Told of each POST as it is answered or fails. Without it, a POST that is not answered 202 fails the burst. */
  onPost?: (prompt: string, outcome: PostOutcome) => void;
}

/** Fires every job at once: the POSTs, the uploads and one manifest holding the batch lines. */
export async function fireBurst(stack: LocalStack, s3: S3Client, jobs: BurstJob[], tag: string, options: FireOptions = {}): Promise<void> {
  const lines = jobs.filter((job) => job.trigger === 'batch').map((job, index) => JSON.stringify({ id: `line-${index + 1}`, ...burstBody(job.prompt) }));
  const post = async (prompt: string) => {
    const sent = performance.now();
    try {
      const { response, json } = await postJob(stack.apiUrl, burstBody(prompt));
      if (response.status !== 202) throw new Error(`POST /jobs for "${prompt}" answered ${response.status}`);
      options.onPost?.(prompt, { jobId: json.jobId, waiting: json.waiting === true, answeredMs: performance.now() - sent });
    } catch (error) {
      if (!options.onPost) throw error;
      options.onPost(prompt, {
        failure: error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error),
        answeredMs: performance.now() - sent,
      });
    }
  };
  await Promise.all([
    ...jobs.map(async (job, index) => {
      if (job.trigger === 'http') {
        await post(job.prompt);
      } else if (job.trigger === 's3') {
        await s3.send(
          new PutObjectCommand({ Bucket: stack.bucket, Key: `incoming/${tag}/job-${index + 1}.json`, Body: JSON.stringify(burstBody(job.prompt)) }),
        );
      }
    }),
    lines.length > 0 ? s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `batches/${tag}.jsonl`, Body: `${lines.join('\n')}\n` })) : Promise.resolve(),
  ]);
}

export interface ListedJob extends JobAnswer {
  trigger: { type: string; source: string };
  waiting: boolean;
  admissions?: number;
  queuedAt?: string;
}

export async function listAllJobs(apiUrl: string, query = ''): Promise<ListedJob[]> {
  const jobs: ListedJob[] = [];
  let url: string | undefined = `${apiUrl}/jobs?limit=100${query ? `&${query}` : ''}`;
  while (url) {
    const page = (await (await fetch(url)).json()) as { jobs: ListedJob[]; links?: { next?: string } };
    jobs.push(...page.jobs);
    url = page.links?.next;
  }
  return jobs;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

/** The burst's jobs (by prompt) once every one of them has ended. */
export async function burstOutcome(stack: LocalStack, jobs: BurstJob[], timeoutMs: number): Promise<ListedJob[]> {
  const prompts = new Set(jobs.map((job) => job.prompt));
  const promptOf = (job: ListedJob) => (job.request?.content[0] as { text?: string } | undefined)?.text ?? '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ours = (await listAllJobs(stack.apiUrl)).filter((job) => prompts.has(promptOf(job)));
    if (ours.length === jobs.length && ours.every((job) => TERMINAL.has(job.status))) return ours;
    if (Date.now() > deadline) {
      const active = ours.filter((job) => !TERMINAL.has(job.status)).length;
      throw new Error(`${ours.length} of ${jobs.length} burst jobs recorded, ${active} still active after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A job as GET /jobs/{jobId} shows it, with the waiting fields. */
export const getWaitingJob = (apiUrl: string, jobId: string) => getJob(apiUrl, jobId) as Promise<ListedJob & { ahead?: number }>;
