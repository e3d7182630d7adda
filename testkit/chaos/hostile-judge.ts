/** Judges what came of the hostile cases (hostile-cases.ts) from the jobs, provider tasks and executions a run left. */
import { MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';
import type { SimulatedTaskView } from '../../local/simulator/server.js';
import {
  BAD_MEDIA_FIELD,
  BAD_MEDIA_VARIANTS,
  HOSTILE_LABELS,
  type BadMediaCase,
  type HostileCase,
  type HostileKind,
  type HostileOffender,
  type HostileRow,
  type IdConflictCase,
  type JobSeen,
  type OverwriteCase,
  type OversizedCase,
  type SameKeyCase,
} from './hostile-cases.js';

export interface HostileEvidence<J extends JobSeen> {
  bucket: string;
  jobs: J[];
  tasks: SimulatedTaskView[];
  /** Names of every execution the engine ran (an execution is named after its job, resumes with a suffix). */
  executionNames: string[];
  manifestsDone: ReadonlySet<string>;
}

export interface HostileReport<J extends JobSeen> {
  rows: HostileRow[];
  /** The hostile submissions' jobs, each once: the run's global checks (tasks, events, terminal) cover them too. */
  jobs: J[];
  /** Which class each of those jobs came from (a refused one has no prompt to tell). */
  kindOfJob: Map<string, HostileKind>;
  lost: HostileOffender[];
  duplicated: HostileOffender[];
  /** Every prompt a hostile case sent, with its kind. */
  prompts: Map<string, HostileKind>;
}

const promptOf = (job: JobSeen) => job.request?.content.find((item) => item.type === 'text')?.text;
const taskPrompt = (task: SimulatedTaskView) => {
  const text = task.request.content.find((item) => item.type === 'text');
  return text && 'text' in text ? text.text : '';
};
const times = (count: number, what: string) => `${count} × ${what}`;

export function judgeHostile<J extends JobSeen>(cases: HostileCase[], evidence: HostileEvidence<J>): HostileReport<J> {
  const group = <K, V>(values: V[], key: (value: V) => K | undefined) => {
    const groups = new Map<K, V[]>();
    for (const value of values) {
      const k = key(value);
      if (k !== undefined) groups.set(k, [...(groups.get(k) ?? []), value]);
    }
    return groups;
  };
  const jobsById = new Map(evidence.jobs.map((job) => [job.jobId, job]));
  const jobsByPrompt = group(evidence.jobs, promptOf);
  const jobsBySource = group(evidence.jobs, (job) => job.trigger.source);
  const tasksByPrompt = group(evidence.tasks, taskPrompt);
  const taskById = new Map(evidence.tasks.map((task) => [task.id, task]));
  const started = (jobId: string) => evidence.executionNames.some((name) => name.startsWith(jobId));
  const describe = (job: J) => `${job.jobId} ${job.status}${job.error ? ` ${job.error.code}: ${job.error.message.slice(0, 160)}` : ''} (${job.trigger.source})`;

  const mine = new Map<string, J>();
  const kindOfJob = new Map<string, HostileKind>();
  const lost: HostileOffender[] = [];
  const duplicated: HostileOffender[] = [];
  const prompts = new Map<string, HostileKind>();
  const violations = new Map<HostileKind, HostileOffender[]>();
  const offend = (offender: HostileOffender, list?: HostileOffender[]) => {
    list?.push(offender);
    violations.set(offender.kind, [...(violations.get(offender.kind) ?? []), offender]);
  };
  /** A refused submission's job: FAILED with the code, never started, and its prompt nowhere. */
  const refused = (kind: HostileKind, prompt: string, job: J, code: string) => {
    if (job.status !== 'FAILED' || job.error?.code !== code)
      offend({ kind, prompt, jobId: job.jobId, detail: `expected FAILED ${code}, got ${describe(job)}` });
    if (job.executionArn || job.providerTaskId || started(job.jobId))
      offend({ kind, prompt, jobId: job.jobId, detail: `refused, yet started: ${describe(job)}` });
    neverRan(kind, prompt);
  };
  const neverRan = (kind: HostileKind, prompt: string) => {
    const recorded = jobsByPrompt.get(prompt) ?? [];
    if (recorded.length > 0) offend({ kind, prompt, detail: `its body was recorded by ${recorded.map(describe).join(', ')}` });
    const reached = tasksByPrompt.get(prompt) ?? [];
    if (reached.length > 0) offend({ kind, prompt, detail: `its body reached the provider: tasks ${reached.map((task) => task.id).join(', ')}` });
  };
  const claim = (kind: HostileKind, job: J) => {
    mine.set(job.jobId, job);
    kindOfJob.set(job.jobId, kind);
  };
  const find = (kind: HostileKind, prompt: string, jobId: string | undefined, where: string): J | undefined => {
    const job = jobId ? jobsById.get(jobId) : undefined;
    if (!job) offend({ kind, prompt, ...(jobId ? { jobId } : {}), detail: `no job found (${where})` }, lost);
    else claim(kind, job);
    return job;
  };

  const rows: HostileRow[] = [];
  const row = (kind: HostileKind, cases: number, expectedJobs: number, sent: string, outcomes: string) =>
    rows.push({ kind, label: HOSTILE_LABELS[kind], cases, expectedJobs, sent, outcomes, violations: [] });

  // --- same key, different bodies ---
  const sameKey = cases.filter((hostile): hostile is SameKeyCase => hostile.kind === 'same-key');
  let accepted = 0;
  let conflicts = 0;
  let recordedAsAnswered = 0;
  for (const hostile of sameKey) {
    for (const prompt of hostile.prompts) prompts.set(prompt, 'same-key');
    const kind = 'same-key';
    if (hostile.problem) offend({ kind, detail: hostile.problem });
    const winners = hostile.answers.filter((answer) => answer.status === 202);
    const losers = hostile.answers.filter((answer) => answer.status === 409 && answer.code === 'CONFLICT');
    accepted += winners.length;
    conflicts += losers.length;
    if (winners.length !== 1 || losers.length !== hostile.answers.length - 1) {
      offend({
        kind,
        detail: `key ${hostile.key}: expected one 202 and ${hostile.prompts.length - 1} × 409 CONFLICT, got ${hostile.answers.map((answer) => `${answer.status}${answer.code ? ` ${answer.code}` : ''}`).join(', ')}`,
      });
    }
    const winner = winners[0];
    for (const { prompt } of hostile.answers.filter((answer) => answer !== winner)) neverRan(kind, prompt);
    if (!winner) continue;
    const job = find(kind, winner.prompt, winner.jobId, `the 202 under key ${hostile.key}`);
    if (!job) continue;
    if (promptOf(job) === winner.prompt) recordedAsAnswered += 1;
    else offend({ kind, prompt: winner.prompt, jobId: job.jobId, detail: `the 202 sent "${winner.prompt}", the job records "${promptOf(job)}"` });
    const task = job.providerTaskId ? taskById.get(job.providerTaskId) : undefined;
    if (task && taskPrompt(task) !== winner.prompt) {
      offend({ kind, prompt: winner.prompt, jobId: job.jobId, detail: `its provider task ${task.id} has "${taskPrompt(task)}"` });
    }
    const sharing = jobsByPrompt.get(winner.prompt) ?? [];
    if (sharing.length > 1) offend({ kind, prompt: winner.prompt, detail: `${sharing.length} jobs: ${sharing.map(describe).join(', ')}` }, duplicated);
  }
  const posts = sameKey.reduce((sum, hostile) => sum + hostile.prompts.length, 0);
  row(
    'same-key',
    sameKey.length,
    sameKey.length,
    `${sameKey.length} keys, ${posts} concurrent POSTs`,
    `${times(accepted, '202')}, ${times(conflicts, '409')}; job records the 202's prompt ${recordedAsAnswered}/${sameKey.length}`,
  );

  // --- overwritten uploads ---
  const overwrites = cases.filter((hostile): hostile is OverwriteCase => hostile.kind === 'overwrite');
  let ran = 0;
  let superseded = 0;
  for (const hostile of overwrites) {
    const kind = 'overwrite';
    if (hostile.problem) offend({ kind, detail: hostile.problem });
    const source = `s3://${evidence.bucket}/${hostile.key}`;
    const ranHere: boolean[] = [];
    for (const version of hostile.versions) {
      prompts.set(version.prompt, kind);
      const job = find(kind, version.prompt, version.jobId, `version ${version.etag ?? '?'} of ${source}`);
      ranHere.push(job?.request !== undefined);
      if (!job) continue;
      if (job.request === undefined) {
        superseded += 1;
        refused(kind, version.prompt, job, 'UPLOAD_SUPERSEDED');
        continue;
      }
      ran += 1;
      if (promptOf(job) !== version.prompt) {
        offend({ kind, prompt: version.prompt, jobId: job.jobId, detail: `ran another version's prompt "${promptOf(job)}": ${describe(job)}` });
      }
      const task = job.providerTaskId ? taskById.get(job.providerTaskId) : undefined;
      if (task && taskPrompt(task) !== version.prompt) {
        offend({ kind, prompt: version.prompt, jobId: job.jobId, detail: `its provider task ${task.id} has "${taskPrompt(task)}"` });
      }
      const sharing = jobsByPrompt.get(version.prompt) ?? [];
      if (sharing.length > 1)
        offend({ kind, prompt: version.prompt, detail: `ran in ${sharing.length} jobs: ${sharing.map(describe).join(', ')}` }, duplicated);
    }
    const expected = new Set(hostile.versions.map((version) => version.jobId));
    const extra = (jobsBySource.get(source) ?? []).filter((job) => !expected.has(job.jobId));
    if (extra.length > 0) offend({ kind, detail: `${source}: jobs of no version PUT: ${extra.map(describe).join(', ')}` }, duplicated);
    // The last PUT of a sequence, or one of a concurrent set, stands: nothing overwrote it.
    if (hostile.concurrent ? !ranHere.some(Boolean) : !ranHere.at(-1)) {
      offend({ kind, detail: `${source}: the version left standing did not run (${hostile.concurrent ? 'concurrent' : 'sequential'} PUTs)` });
    }
  }
  const versions = overwrites.reduce((sum, hostile) => sum + hostile.versions.length, 0);
  const concurrentKeys = overwrites.filter((hostile) => hostile.concurrent).length;
  row(
    'overwrite',
    overwrites.length,
    versions,
    `${overwrites.length} keys (${concurrentKeys} PUT concurrently), ${versions} versions`,
    `ran its own prompt ${ran}, FAILED UPLOAD_SUPERSEDED ${superseded}`,
  );

  // --- manifest lines reusing an id ---
  const idConflicts = cases.filter((hostile): hostile is IdConflictCase => hostile.kind === 'id-conflict');
  let lineConflicts = 0;
  for (const hostile of idConflicts) {
    const kind = 'id-conflict';
    prompts.set(hostile.prompt, kind);
    const source = `s3://${evidence.bucket}/${hostile.manifestKey}#L${hostile.line ?? '?'}`;
    const found = jobsBySource.get(source) ?? [];
    if (found.length === 0) offend({ kind, prompt: hostile.prompt, detail: `no job for ${source} (id "${hostile.id}")` }, lost);
    if (found.length > 1) offend({ kind, prompt: hostile.prompt, detail: `${found.length} jobs for ${source}: ${found.map(describe).join(', ')}` }, duplicated);
    for (const job of found) claim(kind, job);
    if (found[0]) {
      if (found[0].error?.code === 'LINE_ID_CONFLICT') lineConflicts += 1;
      refused(kind, hostile.prompt, found[0], 'LINE_ID_CONFLICT');
    } else {
      neverRan(kind, hostile.prompt);
    }
    if (!evidence.manifestsDone.has(hostile.manifestKey)) offend({ kind, detail: `${hostile.manifestKey} never completed` });
  }
  const manifests = new Set(idConflicts.map((hostile) => hostile.manifestKey));
  row(
    'id-conflict',
    idConflicts.length,
    idConflicts.length,
    `${idConflicts.length} lines in ${manifests.size} manifests`,
    `FAILED LINE_ID_CONFLICT ${lineConflicts}; manifests completed ${[...manifests].filter((key) => evidence.manifestsDone.has(key)).length}/${manifests.size}`,
  );

  // --- oversized specs ---
  const oversized = cases.filter((hostile): hostile is OversizedCase => hostile.kind === 'oversized');
  let tooLarge = 0;
  for (const hostile of oversized) {
    const kind = 'oversized';
    prompts.set(hostile.prompt, kind);
    if (hostile.problem) offend({ kind, prompt: hostile.prompt, detail: hostile.problem });
    const job = find(kind, hostile.prompt, hostile.jobId, `s3://${evidence.bucket}/${hostile.key}, ${hostile.bytes} bytes`);
    if (!job) continue;
    if (job.error?.code === 'PAYLOAD_TOO_LARGE') tooLarge += 1;
    refused(kind, hostile.prompt, job, 'PAYLOAD_TOO_LARGE');
  }
  const sizes = oversized.map((hostile) => hostile.bytes - MAX_BODY_BYTES);
  row(
    'oversized',
    oversized.length,
    oversized.length,
    `${oversized.length} specs, ${Math.min(...sizes)}–${Math.max(...sizes)} bytes over ${MAX_BODY_BYTES}`,
    `FAILED PAYLOAD_TOO_LARGE ${tooLarge}`,
  );

  // --- bad s3:// media ---
  const badMedia = cases.filter((hostile): hostile is BadMediaCase => hostile.kind === 'bad-media');
  let posted400 = 0;
  let uploadsRefused = 0;
  const namesField = (issues: { path: string }[] | undefined) =>
    issues !== undefined && issues.length > 0 && issues.every((issue) => issue.path === BAD_MEDIA_FIELD);
  for (const hostile of badMedia) {
    const kind = 'bad-media';
    prompts.set(hostile.prompt, kind);
    if (hostile.problem) offend({ kind, prompt: hostile.prompt, detail: hostile.problem });
    if (hostile.via === 'post') {
      const answer = hostile.answer;
      if (answer?.status === 400 && answer.code === 'VALIDATION_ERROR' && namesField(answer.issues)) posted400 += 1;
      else
        offend({
          kind,
          prompt: hostile.prompt,
          detail: `${hostile.variant} (${hostile.url}): POST answered ${JSON.stringify(answer)}, expected 400 VALIDATION_ERROR naming ${BAD_MEDIA_FIELD}`,
        });
      neverRan(kind, hostile.prompt);
      continue;
    }
    const job = find(kind, hostile.prompt, hostile.jobId, `${hostile.variant} spec s3://${evidence.bucket}/${hostile.key}`);
    if (!job) continue;
    if (job.error?.code === 'VALIDATION_ERROR' && namesField(job.error.issues)) uploadsRefused += 1;
    else if (job.error?.code === 'VALIDATION_ERROR')
      offend({ kind, prompt: hostile.prompt, jobId: job.jobId, detail: `issues do not name ${BAD_MEDIA_FIELD}: ${JSON.stringify(job.error.issues)}` });
    refused(kind, hostile.prompt, job, 'VALIDATION_ERROR');
  }
  const badPosts = badMedia.filter((hostile) => hostile.via === 'post').length;
  const badUploads = badMedia.length - badPosts;
  row(
    'bad-media',
    badMedia.length,
    badUploads,
    `${badPosts} POSTs, ${badUploads} spec uploads (${BAD_MEDIA_VARIANTS.join(', ')})`,
    `${times(posted400, '400 naming the field')} (no job, as documented); FAILED VALIDATION_ERROR naming the field ${uploadsRefused}`,
  );

  for (const hostileRow of rows) hostileRow.violations = violations.get(hostileRow.kind) ?? [];
  return { rows, jobs: [...mine.values()], kindOfJob, lost, duplicated, prompts };
}
