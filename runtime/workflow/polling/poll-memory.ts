import type { ProviderTaskSnapshot } from '../../provider/task-snapshot.js';

/**
 * What the poll policy remembers between polls. It travels in the workflow payload at
 * `$.poll.policy`, which the state machine never reads: only this module and poll-policy.ts look
 * inside, so what the policy remembers can change without touching the workflow.
 */

/** A request shape's generation time (provider start to finish), lognormal. */
export interface GenerationEstimate {
  medianSeconds: number;
  /** Standard deviation of the natural log of the generation time. */
  sigma: number;
  /** How many finished jobs it was learned from; 0 for the prior. */
  samples: number;
}

/**
 * Bump it when a field changes meaning: an execution that was started before a deploy then brings
 * a memory the new policy does not read, and it starts afresh (the start and the progress are read
 * again from the next answer; the history, read at submit, gives way to the prior).
 */
const MEMORY_VERSION = 1;

export interface PolicyMemory {
  version: typeof MEMORY_VERSION;
  /**
   * Seconds after creation before which generation surely had not begun: the provider's
   * `start_time` once it gave one, else the last time it said the task was still waiting; absent means 0.
   */
  startedNotBeforeSeconds?: number;
  /** Set once startedNotBeforeSeconds is the provider's own start_time, not a bound of ours. */
  startReported?: true;
  /** What past jobs of this shape took, read once at submit so a poll reads nothing but the provider. */
  history?: GenerationEstimate;
  /** The furthest share of its run any answer allowed (ProviderTaskSnapshot.shareDoneAtMost). */
  shareDoneAtMost?: number;
}

/** The memory this policy reads: a memory of another version counts as none. */
export function currentMemory(memory: PolicyMemory | undefined): PolicyMemory {
  return memory?.version === MEMORY_VERSION ? memory : { version: MEMORY_VERSION };
}

/** The memory of a task just created. */
export function startMemory(history: GenerationEstimate | undefined): PolicyMemory {
  return { version: MEMORY_VERSION, ...(history ? { history } : {}) };
}

/** What the policy reads from an answer. */
export type PolicyAnswer = Pick<ProviderTaskSnapshot, 'phase' | 'submitTime' | 'startTime' | 'shareDoneAtMost'>;

/**
 * The memory after an answer of the provider, `elapsedSeconds` (policy seconds) after the task's
 * `submittedAt`; `timeScale` converts the answer's clock times (policy-clock.ts).
 */
export function rememberAnswer(
  memory: PolicyMemory | undefined,
  answer: PolicyAnswer,
  elapsedSeconds: number,
  submittedAt: string,
  timeScale = 1,
): PolicyMemory {
  const known = currentMemory(memory);
  const startedNotBeforeSeconds = startedNotBefore(answer, known, elapsedSeconds, submittedAt, timeScale);
  const startReported = known.startReported === true || (answer.phase === 'running' && answer.startTime !== undefined);
  // A task's progress never goes back: an answer that allows less than one before is a flaky gateway.
  const shareDoneAtMost = answer.shareDoneAtMost === undefined ? known.shareDoneAtMost : Math.max(known.shareDoneAtMost ?? 0, answer.shareDoneAtMost);
  return {
    version: MEMORY_VERSION,
    ...(startedNotBeforeSeconds > 0 ? { startedNotBeforeSeconds } : {}),
    ...(startReported ? { startReported: true as const } : {}),
    ...(known.history ? { history: known.history } : {}),
    ...(shareDoneAtMost !== undefined ? { shareDoneAtMost } : {}),
  };
}

/**
 * When generation began, at the earliest, in seconds after submit. The provider's start_time is
 * read against its own submit_time when it gives both, so a skewed provider clock does not matter.
 */
function startedNotBefore(answer: PolicyAnswer, known: PolicyMemory, elapsedSeconds: number, submittedAt: string, timeScale: number): number {
  const previous = known.startedNotBeforeSeconds ?? 0;
  // A gateway that answers "queued" after it reported a start is flaky, not restarted: keep the start.
  if (answer.phase === 'queued') return known.startReported ? previous : Math.max(previous, elapsedSeconds);
  if (answer.startTime === undefined) return previous;
  const sinceSubmit = answer.submitTime !== undefined ? answer.startTime - answer.submitTime : answer.startTime - Date.parse(submittedAt) / 1000;
  return Math.min(elapsedSeconds, Math.max(0, sinceSubmit / timeScale));
}
