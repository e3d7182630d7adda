/**
 * The admission line: every job waits here, whatever triggered it, until it can take a slot.
 *
 * A job's place is its line key: the time it joined the line plus its priority's offset, then its id.
 * Oldest first within a priority; a higher priority goes ahead of a lower one that joined less than
 * the difference of their offsets earlier. No lane starves: a job with line key k starts before every
 * job that joins after k, so a low-priority job waits behind fresher work for at most its offset.
 * One sort key (a sparse index holds waiting jobs only) makes the next job, a job's place and the
 * line in order one indexed query each, with nothing to keep in step.
 */

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** How far back in the line each priority joins: high work passes normal work queued up to 10 min earlier, and a nightly batch (low) for 4 h. */
export const PRIORITY_OFFSET_SECONDS: Record<Priority, number> = { high: 0, normal: 10 * 60, low: 4 * 60 * 60 };

/** The value of `inLine` on a waiting job: the partition of the line index (sparse: only waiting jobs carry it). */
export const WAITING = 'waiting';

/** Sorts before every line key made from a time: a job sent back by the provider goes to the front. */
const FRONT = '!';

export function lineKeyFor(queuedAt: Date, priority: Priority, jobId: string): string {
  return `${new Date(queuedAt.getTime() + PRIORITY_OFFSET_SECONDS[priority] * 1000).toISOString()}#${jobId}`;
}

/** The key of a job that goes back to the front, ahead of every job that never left the line. */
export function frontOfLine(lineKey: string): string {
  return lineKey.startsWith(FRONT) ? lineKey : `${FRONT}${lineKey}`;
}

/** The execution of a job's nth admission: the first is named after the job, as before the line existed. */
export function executionNameFor(jobId: string, admission: number): string {
  return admission <= 1 ? jobId : `${jobId}-admission-${admission}`;
}
