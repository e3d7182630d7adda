/**
 * What must hold of the run's jobs whatever the provider and the functions did: each ended, had at
 * most one provider task (matched by its unique prompt), stored intact the video the provider
 * rendered, and was announced exactly once; and how they ended, by status and error code.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SimulatedTaskView } from '../../local/simulator/server.js';
import type { LocalStack } from '../../local/stack/local-stack.js';
import { promptOfJob, TERMINAL } from './jobs.js';
import type { Matched } from './matching.js';
import { pool } from './pool.js';
import type { ChaosReport, Offender } from './report.js';

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

async function sha256OfObject(s3: S3Client, bucket: string, key: string): Promise<{ sha256: string; bytes: number }> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Jobs not terminal, each with its executions. */
export function nonTerminalJobs(stack: LocalStack, { ourJobs, kindOfJob, describeJob }: Matched): Offender[] {
  return ourJobs
    .filter((job) => !TERMINAL.has(job.status))
    .map((job) => {
      const executions = stack.engine
        .listExecutions()
        .filter((execution) => execution.name.startsWith(job.jobId))
        .map((execution) => `${execution.name} ${execution.status}${execution.error ? ` ${execution.error}` : ''}`);
      return {
        prompt: promptOfJob(job),
        jobId: job.jobId,
        kind: kindOfJob(job),
        detail: `${describeJob(job)}; executions: ${executions.join(', ') || 'none'}`,
      };
    });
}

export interface ProviderTasks {
  tasks: SimulatedTaskView[];
  tasksByPrompt: Map<string, SimulatedTaskView[]>;
  report: ChaosReport['providerTasks'];
}

/** Provider tasks per job, matched by the unique prompt. */
export function checkProviderTasks(stack: LocalStack, { ourJobs, kindOfPrompt, kindOfJob, describeJob }: Matched): ProviderTasks {
  const tasks = stack.simulator.tasks();
  const tasksByPrompt = new Map<string, typeof tasks>();
  let orphans = 0;
  for (const task of tasks) {
    const text = task.request.content.find((item) => item.type === 'text');
    const prompt = text && 'text' in text ? text.text : '';
    if (!kindOfPrompt.has(prompt)) orphans += 1;
    tasksByPrompt.set(prompt, [...(tasksByPrompt.get(prompt) ?? []), task]);
  }
  const perJob = countBy(ourJobs, (job) => String(tasksByPrompt.get(promptOfJob(job) ?? '')?.length ?? 0));
  const offenders: Offender[] = [];
  let maxPerJob = 0;
  for (const job of ourJobs) {
    const own = tasksByPrompt.get(promptOfJob(job) ?? '') ?? [];
    maxPerJob = Math.max(maxPerJob, own.length);
    if (own.length > 1) {
      offenders.push({
        prompt: promptOfJob(job),
        jobId: job.jobId,
        kind: kindOfJob(job),
        detail: `${own.length} provider tasks: ${own
          .map((task) => `${task.id} ${task.status} answered=${task.createAnswered} faults=${JSON.stringify(task.faults)}`)
          .join('; ')}; job ${describeJob(job)}`,
      });
    }
  }
  return { tasks, tasksByPrompt, report: { total: tasks.length, perJob, maxPerJob, offenders, orphans } };
}

/** SUCCEEDED objects: the bytes in S3 are what the record says and what the provider rendered. */
export async function checkObjects(s3: S3Client, tasks: SimulatedTaskView[], { ourJobs, kindOfJob }: Matched): Promise<ChaosReport['intact']> {
  const succeeded = ourJobs.filter((job) => job.status === 'SUCCEEDED');
  const offenders: Offender[] = [];
  await pool(succeeded, 8, async (job) => {
    const offend = (detail: string): void => {
      offenders.push({ prompt: promptOfJob(job), jobId: job.jobId, kind: kindOfJob(job), detail });
    };
    if (!job.output) return offend('SUCCEEDED without output');
    const task = tasks.find((candidate) => candidate.id === job.providerTaskId);
    if (!task) return offend(`its provider task ${job.providerTaskId} is not the simulator's`);
    let stored: { sha256: string; bytes: number };
    try {
      stored = await sha256OfObject(s3, job.output.bucket, job.output.key);
    } catch (error) {
      return offend(`GET s3://${job.output.bucket}/${job.output.key} failed: ${(error as Error).message}`);
    }
    const same =
      stored.sha256 === job.output.sha256 && stored.bytes === job.output.bytes && stored.sha256 === task.videoSha256 && stored.bytes === task.videoBytes;
    if (!same) {
      offend(`object ${stored.bytes} B ${stored.sha256}; record ${job.output.bytes} B ${job.output.sha256}; provider ${task.videoBytes} B ${task.videoSha256}`);
    }
  });
  return { succeeded: succeeded.length, intact: succeeded.length - offenders.length, offenders };
}

/** Completion events: exactly one per terminal job, of its status. */
export function checkEvents(stack: LocalStack, { ourJobs, kindOfJob, describeJob }: Matched): ChaosReport['events'] {
  const events = stack.events();
  const eventsByJob = new Map<string, string[]>();
  for (const event of events) {
    const jobId = (event.detail as { jobId?: string } | undefined)?.jobId ?? '';
    eventsByJob.set(jobId, [...(eventsByJob.get(jobId) ?? []), event['detail-type']]);
  }
  const expectedType: Record<string, string> = {
    SUCCEEDED: 'Job Succeeded',
    FAILED: 'Job Failed',
    TIMED_OUT: 'Job Timed Out',
    CANCELLED: 'Job Cancelled',
  };
  const terminalJobs = ourJobs.filter((job) => TERMINAL.has(job.status));
  const offenders: Offender[] = [];
  for (const job of terminalJobs) {
    const types = eventsByJob.get(job.jobId) ?? [];
    if (types.length !== 1 || types[0] !== expectedType[job.status]) {
      offenders.push({
        prompt: promptOfJob(job),
        jobId: job.jobId,
        kind: kindOfJob(job),
        detail: `${types.length} event(s) [${types.join(', ')}] for ${describeJob(job)}`,
      });
    }
  }
  return { total: events.length, terminalJobs: terminalJobs.length, exactlyOne: terminalJobs.length - offenders.length, offenders };
}

/** How the jobs ended: by status, by error code, and up to 3 examples of each code with its message. */
export function outcomes(
  tasksByPrompt: Map<string, SimulatedTaskView[]>,
  { ourJobs, kindOfJob }: Matched,
): Pick<ChaosReport, 'statuses' | 'failedByCode' | 'timedOutByCode' | 'errorExamples'> {
  const statuses = countBy(ourJobs, (job) => job.status);
  const failedByCode = countBy(
    ourJobs.filter((job) => job.status === 'FAILED'),
    (job) => job.error?.code ?? '(none)',
  );
  const timedOutByCode = countBy(
    ourJobs.filter((job) => job.status === 'TIMED_OUT'),
    (job) => job.error?.code ?? '(none)',
  );
  const errorExamples: Record<string, Offender[]> = {};
  for (const job of ourJobs) {
    if (!job.error) continue;
    const key = `${job.status} ${job.error.code}`;
    const examples = (errorExamples[key] ??= []);
    if (examples.length < 3) {
      examples.push({
        prompt: promptOfJob(job),
        jobId: job.jobId,
        kind: kindOfJob(job),
        detail: `${job.error.message.slice(0, 300)} (tasks: ${tasksByPrompt.get(promptOfJob(job) ?? '')?.length ?? 0})`,
      });
    }
  }
  return { statuses, failedByCode, timedOutByCode, errorExamples };
}
