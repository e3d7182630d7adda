/**
 * Hostile submissions mixed into the chaos run's traffic (testkit/chaos/run.ts), one class per hole an
 * adversarial run found, each judged by what a user would notice if the hole came back:
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
 *
 * This file plans the cases; hostile-submit.ts sends them and hostile-judge.ts judges what came of them.
 */
import { MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';

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

export interface SameKeyCase {
  kind: 'same-key';
  key: string;
  prompts: string[];
  answers: { prompt: string; status: number; jobId?: string; code?: string }[];
  problem?: string;
}

export interface OverwriteCase {
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

export interface OversizedCase {
  kind: 'oversized';
  key: string;
  prompt: string;
  bytes: number;
  jobId?: string;
  problem?: string;
}

export type BadMediaVariant = 'missing key' | '../ path' | 'requests/ object' | 'text file named .png';

export interface BadMediaCase {
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
export const BAD_MEDIA_VARIANTS: BadMediaVariant[] = ['missing key', '../ path', 'requests/ object', 'text file named .png'];
export const TEXT_PNG_KEY = 'media/chaos-hostile/notes.png';
/** A real image where the pipeline keeps request bodies: anyone with write access to the bucket could put one there. */
export const PLANTED_PNG_KEY = 'requests/chaos-hostile/planted.png';

/**
 * How many of each, from the run's size: a share of the HTTP and upload traffic for the two
 * commonest holes, a few of the expensive oversized specs, every bad-media variant both ways.
 */
export function planHostile(jobs: number, manifests: { key: string; lines: number }[], random: () => number): HostilePlan {
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
    return [
      {
        kind: 'id-conflict' as const,
        manifestKey: manifest.key,
        id: '',
        prompt: `${PROMPT_PREFIX}id-conflict ${m + 1}`,
        afterOffset: pick(0, manifest.lines - 1),
      },
    ];
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
      sum +
      (hostile.kind === 'overwrite'
        ? hostile.versions.length
        : hostile.kind === 'oversized' || (hostile.kind === 'bad-media' && hostile.via === 'upload')
          ? 1
          : 0),
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
