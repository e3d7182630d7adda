/**
 * Which job is whose: every submission must have exactly one job (none lost, none doubled), the
 * hostile cases are judged (hostile-judge.ts), and a job no submission accounts for is a stray.
 */
import type { TriggerKind } from './config.js';
import type { HostileKind } from './hostile-cases.js';
import { judgeHostile, type HostileReport } from './hostile-judge.js';
import { listAll, promptOfJob, type ListedJob } from './jobs.js';
import type { Offender } from './report.js';
import type { ChaosStack } from './stack.js';
import type { Submitted } from './submissions.js';

export interface Matched {
  /** The jobs of every submission, normal or hostile, each once: every check runs on these. */
  ourJobs: ListedJob[];
  hostile: HostileReport<ListedJob>;
  lost: Offender[];
  duplicated: Offender[];
  strays: Offender[];
  submissionProblems: Offender[];
  /** The kind of every prompt sent. */
  kindOfPrompt: Map<string, TriggerKind | HostileKind>;
  kindOfJob(job: ListedJob): TriggerKind | HostileKind | undefined;
  /** One line on a job, for an offender's detail. */
  describeJob(job: ListedJob): string;
}

export async function matchJobs({ stack }: ChaosStack, { submissions, hostilePlan, batches }: Submitted): Promise<Matched> {
  const jobs = await listAll(stack.apiUrl);
  const jobsByPrompt = new Map<string, ListedJob[]>();
  for (const job of jobs) {
    const prompt = promptOfJob(job) ?? '';
    jobsByPrompt.set(prompt, [...(jobsByPrompt.get(prompt) ?? []), job]);
  }
  const lost: Offender[] = [];
  const duplicated: Offender[] = [];
  const submissionProblems: Offender[] = [];
  const jobOf = new Map<string, ListedJob>();
  for (const submission of submissions) {
    const found = jobsByPrompt.get(submission.prompt) ?? [];
    if (submission.problem) {
      submissionProblems.push({ prompt: submission.prompt, kind: submission.kind, detail: submission.problem });
    }
    if (found.length === 0) {
      lost.push({
        prompt: submission.prompt,
        kind: submission.kind,
        ...(submission.expectedJobId ? { jobId: submission.expectedJobId } : {}),
        detail: `no job found${submission.source ? ` (from ${submission.source})` : ''}${submission.problem ? `; ${submission.problem}` : ''}`,
      });
      continue;
    }
    if (found.length > 1) {
      duplicated.push({
        prompt: submission.prompt,
        kind: submission.kind,
        detail: `${found.length} jobs: ${found.map((job) => `${job.jobId} ${job.status} (${job.trigger.type} ${job.trigger.source})`).join(', ')}`,
      });
    }
    const job = found.find((candidate) => candidate.jobId === submission.expectedJobId) ?? found[0]!;
    if (submission.expectedJobId && job.jobId !== submission.expectedJobId) {
      submissionProblems.push({
        prompt: submission.prompt,
        kind: submission.kind,
        jobId: job.jobId,
        detail: `expected job ${submission.expectedJobId}, found ${job.jobId}`,
      });
    }
    jobOf.set(submission.prompt, job);
  }
  const hostile = judgeHostile([...hostilePlan.pooled, ...hostilePlan.idConflicts], {
    bucket: stack.bucket,
    jobs,
    tasks: stack.simulator.tasks(),
    executionNames: stack.engine.listExecutions().map((execution) => execution.name),
    manifestsDone: batches.manifestsDone,
  });
  lost.push(...hostile.lost);
  duplicated.push(...hostile.duplicated);
  // The hostile cases' jobs go through every check below like the others.
  const ourJobs = [...new Map([...jobOf.values(), ...hostile.jobs].map((job) => [job.jobId, job])).values()];
  const describeJob = (job: ListedJob) =>
    `${job.jobId} ${job.status}${job.error ? ` ${job.error.code}: ${job.error.message.slice(0, 200)}` : ''} (task ${job.providerTaskId ?? '-'}, polls ${job.polls ?? 0}, resumes ${job.resumes ?? 0}, created ${job.createdAt}, deadline ${job.deadlineAt}, finished ${job.finishedAt ?? '-'})`;
  const kindOfPrompt = new Map<string, TriggerKind | HostileKind>([
    ...submissions.map((submission) => [submission.prompt, submission.kind] as const),
    ...hostile.prompts,
  ]);
  const kindOfJob = (job: ListedJob) => kindOfPrompt.get(promptOfJob(job) ?? '') ?? hostile.kindOfJob.get(job.jobId);
  // Every job listed must be some submission's: one nobody asked for is a doubled run under another id.
  const ours = new Set(ourJobs.map((job) => job.jobId));
  const strays: Offender[] = jobs
    .filter((job) => !ours.has(job.jobId))
    .map((job) => ({
      prompt: promptOfJob(job),
      jobId: job.jobId,
      detail: `no submission made it: ${describeJob(job)} (${job.trigger.type} ${job.trigger.source})`,
    }));
  return { ourJobs, hostile, lost, duplicated, strays, submissionProblems, kindOfPrompt, kindOfJob, describeJob };
}
