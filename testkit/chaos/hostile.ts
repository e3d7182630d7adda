/**
 * Hostile submissions mixed into the chaos run's traffic (testkit/chaos/run.ts), one class per hole an
 * adversarial run found (issue 10), each judged by what a user would notice if the hole came back:
 *
 * - same-key: 2–4 concurrent POSTs under one Idempotency-Key with different prompts. Exactly one 202,
 *   the rest 409; the job records the 202's prompt, its provider task has it, no losing prompt is
 *   recorded or reaches the provider.
 * - overwrite: one key under incoming/ PUT 2–3 times in quick succession (sequentially or all at once),
 *   each version with its own prompt. Each version ends with a job of its own: one that ran exactly its
 *   prompt, or FAILED UPLOAD_SUPERSEDED. No prompt runs twice, no job runs another version's prompt, and
 *   the version left standing runs (nothing overwrote it, so nothing can excuse refusing it).
 * - id-conflict: a manifest line reusing an earlier line's `id` with another body. It is a FAILED job
 *   LINE_ID_CONFLICT (found by its line, `#L<n>`), its body never reaches the provider, and the
 *   manifest still completes.
 * - oversized: a spec over the 10 MB limit, a big `data:` image the schema has no other limit for.
 *   FAILED PAYLOAD_TOO_LARGE, nothing started.
 * - bad-media: `s3://` media naming a missing key, a `../` path, an object under requests/, a text
 *   file named `.png`; sent as POSTs (400 VALIDATION_ERROR naming the field, nothing recorded) and as
 *   spec uploads (FAILED VALIDATION_ERROR naming the field). Nothing started for either. Each variant
 *   gets past every guard but one: the requests/ object and the one `../` leads to are a real PNG, so
 *   only the prefix and segment rules stop them; the missing key and the text file are under media/.
 *
 * A refused upload or line counts as its submission's one job; a POST refused at the door records
 * none, as documented, so none may carry its prompt.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';
import { uploadJobId } from '../../runtime/triggers/upload-intake.js';
import type { SimulatedTaskView } from '../../local/simulator/server.js';
import { solidPng } from '../png.js';

export type HostileKind = 'same-key' | 'overwrite' | 'id-conflict' | 'oversized' | 'bad-media';

export const HOSTILE_LABELS: Record<HostileKind, string> = {
  'same-key': 'same Idempotency-Key, different bodies',
  overwrite: 'upload overwritten 2-3 times',
  'id-conflict': 'manifest line reusing an id',
  oversized: 'spec over 10 MB',
  'bad-media': 'bad s3:// media',
};

/** The job fields the judgement reads (a subset of what GET /jobs lists). */
export interface JobSeen {
  jobId: string;
  status: string;
  trigger: { type: string; source: string };
  request?: { content: { type: string; text?: string }[] };
  providerTaskId?: string;
  executionArn?: string;
  error?: { code: string; message: string; issues?: { path: string; message: string }[] };
}

export interface HostileOffender {
  prompt?: string;
  jobId?: string;
  kind: HostileKind;
  detail: string;
}

export interface HostileRow {
  kind: HostileKind;
  label: string;
  /** What was sent, e.g. "20 keys, 58 POSTs". */
  sent: string;
  /** What came of it, e.g. "20 × 202, 38 × 409". */
  outcomes: string;
  cases: number;
  /** The jobs its submissions must have made. */
  expectedJobs: number;
  violations: HostileOffender[];
}

interface SameKeyCase {
  kind: 'same-key';
  key: string;
  prompts: string[];
  answers: { prompt: string; status: number; jobId?: string; code?: string }[];
  problem?: string;
}

interface OverwriteCase {
  kind: 'overwrite';
  key: string;
  concurrent: boolean;
  versions: { prompt: string; etag?: string; jobId?: string }[];
  problem?: string;
}

export interface IdConflictCase {
  kind: 'id-conflict';
  manifestKey: string;
  /** The earlier line's id this line reuses. */
  id: string;
  prompt: string;
  /** Where the original line sits in the manifest's normal lines (0-based). */
  afterOffset: number;
  /** Its 1-based line number once the manifest is written. */
  line?: number;
}

interface OversizedCase {
  kind: 'oversized';
  key: string;
  prompt: string;
  bytes: number;
  jobId?: string;
  problem?: string;
}

type BadMediaVariant = 'missing key' | '../ path' | 'requests/ object' | 'text file named .png';

interface BadMediaCase {
  kind: 'bad-media';
  n: number;
  via: 'post' | 'upload';
  variant: BadMediaVariant;
  prompt: string;
  url?: string;
  key?: string;
  jobId?: string;
  answer?: { status: number; code?: string; issues?: { path: string }[] };
  problem?: string;
}

/** The cases sent through the submission pool (manifest lines go up with their manifests). */
export type PooledCase = SameKeyCase | OverwriteCase | OversizedCase | BadMediaCase;
export type HostileCase = PooledCase | IdConflictCase;

export interface HostilePlan {
  pooled: PooledCase[];
  idConflicts: IdConflictCase[];
}

const PROMPT_PREFIX = 'Chaos hostile ';
/** The field every bad-media body puts its `s3://` URL in. */
export const BAD_MEDIA_FIELD = 'content[1].image_url.url';
const BAD_MEDIA_VARIANTS: BadMediaVariant[] = ['missing key', '../ path', 'requests/ object', 'text file named .png'];
const TEXT_PNG_KEY = 'media/chaos-hostile/notes.png';
/** A real image where the pipeline keeps request bodies: anyone with write access to the bucket could put one there. */
const PLANTED_PNG_KEY = 'requests/chaos-hostile/planted.png';

/**
 * How many of each, from the run's size: a share of the HTTP and upload traffic for the two
 * commonest holes, a few of the expensive oversized specs, every bad-media variant both ways.
 */
export function planHostile(
  jobs: number,
  manifests: { key: string; lines: number }[],
  random: () => number,
): HostilePlan {
  const share = Math.max(1, Math.ceil(jobs * 0.04));
  const pick = (from: number, to: number) => from + Math.floor(random() * (to - from + 1));
  const pooled: PooledCase[] = [];
  for (let n = 1; n <= share; n += 1) {
    const count = pick(2, 4);
    pooled.push({
      kind: 'same-key',
      key: `chaos-hostile-${n}`,
      prompts: Array.from({ length: count }, (_, i) => `${PROMPT_PREFIX}same-key ${n} body ${i + 1}`),
      answers: [],
    });
  }
  for (let n = 1; n <= share; n += 1) {
    pooled.push({
      kind: 'overwrite',
      key: `incoming/chaos-hostile/overwrite-${n}.json`,
      concurrent: random() < 0.5,
      versions: Array.from({ length: pick(2, 3) }, (_, i) => ({ prompt: `${PROMPT_PREFIX}overwrite ${n} version ${i + 1}` })),
    });
  }
  const oversized = Math.max(1, Math.min(5, Math.floor(jobs / 100)));
  for (let n = 1; n <= oversized; n += 1) {
    // The first exactly one byte over: the limit itself is what is checked.
    pooled.push({
      kind: 'oversized',
      key: `incoming/chaos-hostile/oversized-${n}.json`,
      prompt: `${PROMPT_PREFIX}oversized ${n}`,
      bytes: MAX_BODY_BYTES + (n === 1 ? 1 : pick(1, 1024 * 1024)),
    });
  }
  const rounds = Math.max(1, Math.floor(jobs / 250));
  for (let round = 1; round <= rounds; round += 1) {
    for (const variant of BAD_MEDIA_VARIANTS) {
      for (const via of ['post', 'upload'] as const) {
        const n = pooled.filter((hostile) => hostile.kind === 'bad-media').length + 1;
        pooled.push({ kind: 'bad-media', n, via, variant, prompt: `${PROMPT_PREFIX}bad-media ${n} ${variant} by ${via}` });
      }
    }
  }
  // Every other manifest, at least one: the lines after it must still run.
  const idConflicts: IdConflictCase[] = manifests.flatMap((manifest, m) => {
    if (m % 2 !== 0 || manifest.lines === 0) return [];
    return [{ kind: 'id-conflict' as const, manifestKey: manifest.key, id: '', prompt: `${PROMPT_PREFIX}id-conflict ${m + 1}`, afterOffset: pick(0, manifest.lines - 1) }];
  });
  return { pooled, idConflicts };
}

/** How many jobs a case will make at most (the run's pacing counts them as started). */
export function jobsOf(hostile: HostileCase): number {
  switch (hostile.kind) {
    case 'same-key':
      return 1;
    case 'overwrite':
      return hostile.versions.length;
    case 'bad-media':
      return hostile.via === 'upload' ? 1 : 0;
    default:
      return 1;
  }
}

/** Objects the cases PUT under incoming/: each one's event is delivered twice like any upload's. */
export function uploadsOf(cases: PooledCase[]): number {
  return cases.reduce(
    (sum, hostile) =>
      sum + (hostile.kind === 'overwrite' ? hostile.versions.length : hostile.kind === 'oversized' || (hostile.kind === 'bad-media' && hostile.via === 'upload') ? 1 : 0),
    0,
  );
}

/**
 * A manifest's lines with its id conflicts placed: each right after a random later line than the one
 * whose id it reuses, so lines before and after it must still run.
 */
export function placeIdConflicts<T extends { id: string }>(
  manifestKey: string,
  lines: T[],
  conflicts: IdConflictCase[],
  random: () => number,
): (T | IdConflictCase)[] {
  const placed: (T | IdConflictCase)[] = [...lines];
  for (const conflict of conflicts.filter((candidate) => candidate.manifestKey === manifestKey)) {
    conflict.id = lines[conflict.afterOffset]!.id;
    const after = placed.indexOf(lines[conflict.afterOffset]!);
    const at = after + 1 + Math.floor(random() * (placed.length - after));
    placed.splice(at, 0, conflict);
  }
  return placed;
}

/** Spread the cases among the normal submissions at seeded places. */
export function mixInto<T>(items: T[], cases: PooledCase[], random: () => number): (T | { hostile: PooledCase })[] {
  const placed = [
    ...items.map((item, index) => ({ at: index, entry: item as T | { hostile: PooledCase } })),
    ...cases.map((hostile) => ({ at: random() * items.length, entry: { hostile } })),
  ];
  return placed.sort((a, b) => a.at - b.at).map(({ entry }) => entry);
}

export interface HostileContext {
  apiUrl: string;
  s3: S3Client;
  bucket: string;
  random: () => number;
  /** The run's normal job body for a prompt, so hostile bodies differ from it only where they mean to. */
  jobBody: (prompt: string) => Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(apiUrl: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${apiUrl}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: { jobId?: string; error?: { code?: string; issues?: { path: string }[] } } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // judged by the status and the missing fields
  }
  return { status: response.status, jobId: json.jobId, code: json.error?.code, issues: json.error?.issues, text };
}

/** What the run needs in the bucket before the bad-media cases are sent. */
export async function prepareHostile(context: HostileContext): Promise<void> {
  await context.s3.send(
    new PutObjectCommand({ Bucket: context.bucket, Key: TEXT_PNG_KEY, Body: 'these are notes, not a picture\n', ContentType: 'image/png' }),
  );
  await context.s3.send(new PutObjectCommand({ Bucket: context.bucket, Key: PLANTED_PNG_KEY, Body: solidPng(16, 16), ContentType: 'image/png' }));
}

function withImage(context: HostileContext, prompt: string, url: string): Record<string, unknown> {
  const body = context.jobBody(prompt);
  const content = body.content as unknown[];
  return { ...body, content: [...content, { type: 'image_url', image_url: { url }, role: 'first_frame' }] };
}

function badMediaUrl(context: HostileContext, hostile: BadMediaCase): string {
  const bucket = `s3://${context.bucket}/`;
  switch (hostile.variant) {
    case 'missing key':
      return `${bucket}media/chaos-hostile/missing-${hostile.n}.png`;
    case '../ path':
      return `${bucket}media/../${PLANTED_PNG_KEY}`;
    case 'requests/ object':
      return `${bucket}${PLANTED_PNG_KEY}`;
    case 'text file named .png':
      return `${bucket}${TEXT_PNG_KEY}`;
  }
}

async function putSpec(context: HostileContext, key: string, body: string): Promise<{ etag: string; jobId: string }> {
  const answer = await context.s3.send(
    new PutObjectCommand({ Bucket: context.bucket, Key: key, Body: body, ContentType: 'application/json' }),
  );
  const etag = answer.ETag!.replaceAll('"', '');
  return { etag, jobId: uploadJobId({ bucket: context.bucket, key, etag }) };
}

/** A spec of exactly `bytes` bytes: the text prompt and a `data:` PNG padded to the size. */
function oversizedSpec(context: HostileContext, prompt: string, bytes: number): string {
  const around = JSON.stringify(withImage(context, prompt, 'data:image/png;base64,')).length;
  const room = bytes - around;
  const dataBytes = Math.floor(room / 4) * 3;
  const png = solidPng(8, 8);
  const data = Buffer.concat([png, Buffer.alloc(Math.max(0, dataBytes - png.length))]).toString('base64');
  const spec = JSON.stringify(withImage(context, prompt, `data:image/png;base64,${data}`));
  // JSON allows whitespace after the value: it makes up the last few bytes.
  return spec + ' '.repeat(Math.max(0, bytes - spec.length));
}

export async function submitHostile(hostile: PooledCase, context: HostileContext): Promise<void> {
  try {
    switch (hostile.kind) {
      case 'same-key': {
        // All in flight at once, 0-20 ms apart: the race the idempotency record must settle.
        hostile.answers = await Promise.all(
          hostile.prompts.map(async (prompt) => {
            await sleep(Math.floor(context.random() * 20));
            const answer = await post(context.apiUrl, context.jobBody(prompt), { 'idempotency-key': hostile.key });
            return { prompt, status: answer.status, ...(answer.jobId ? { jobId: answer.jobId } : {}), ...(answer.code ? { code: answer.code } : {}) };
          }),
        );
        return;
      }
      case 'overwrite': {
        const put = async (version: OverwriteCase['versions'][number]) => {
          const { etag, jobId } = await putSpec(context, hostile.key, JSON.stringify(context.jobBody(version.prompt)));
          version.etag = etag;
          version.jobId = jobId;
        };
        if (hostile.concurrent) {
          await Promise.all(hostile.versions.map(async (version) => (await sleep(Math.floor(context.random() * 10)), put(version))));
        } else {
          for (const version of hostile.versions) {
            await put(version);
            await sleep(Math.floor(context.random() * 20));
          }
        }
        return;
      }
      case 'oversized': {
        hostile.jobId = (await putSpec(context, hostile.key, oversizedSpec(context, hostile.prompt, hostile.bytes))).jobId;
        return;
      }
      case 'bad-media': {
        hostile.url = badMediaUrl(context, hostile);
        const body = withImage(context, hostile.prompt, hostile.url);
        if (hostile.via === 'post') {
          const answer = await post(context.apiUrl, body);
          hostile.answer = { status: answer.status, ...(answer.code ? { code: answer.code } : {}), ...(answer.issues ? { issues: answer.issues } : {}) };
        } else {
          hostile.key = `incoming/chaos-hostile/bad-media-${hostile.n}.json`;
          hostile.jobId = (await putSpec(context, hostile.key, JSON.stringify(body))).jobId;
        }
        return;
      }
    }
  } catch (error) {
    hostile.problem = `${hostile.kind} submission threw: ${(error as Error).message}`;
  }
}

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
  const describe = (job: J) =>
    `${job.jobId} ${job.status}${job.error ? ` ${job.error.code}: ${job.error.message.slice(0, 160)}` : ''} (${job.trigger.source})`;

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
    if (job.status !== 'FAILED' || job.error?.code !== code) offend({ kind, prompt, jobId: job.jobId, detail: `expected FAILED ${code}, got ${describe(job)}` });
    if (job.executionArn || job.providerTaskId || started(job.jobId)) offend({ kind, prompt, jobId: job.jobId, detail: `refused, yet started: ${describe(job)}` });
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
      if (sharing.length > 1) offend({ kind, prompt: version.prompt, detail: `ran in ${sharing.length} jobs: ${sharing.map(describe).join(', ')}` }, duplicated);
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
      else offend({ kind, prompt: hostile.prompt, detail: `${hostile.variant} (${hostile.url}): POST answered ${JSON.stringify(answer)}, expected 400 VALIDATION_ERROR naming ${BAD_MEDIA_FIELD}` });
      neverRan(kind, hostile.prompt);
      continue;
    }
    const job = find(kind, hostile.prompt, hostile.jobId, `${hostile.variant} spec s3://${evidence.bucket}/${hostile.key}`);
    if (!job) continue;
    if (job.error?.code === 'VALIDATION_ERROR' && namesField(job.error.issues)) uploadsRefused += 1;
    else if (job.error?.code === 'VALIDATION_ERROR') offend({ kind, prompt: hostile.prompt, jobId: job.jobId, detail: `issues do not name ${BAD_MEDIA_FIELD}: ${JSON.stringify(job.error.issues)}` });
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
