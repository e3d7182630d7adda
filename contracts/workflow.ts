/**
 * The bounds of the poll policy's wait between two polls. The workflow is sized by them as well: a
 * task followed past its deadline is polled every MAX_POLL_SECONDS, and the longest deadline keeps
 * the worst case (a poll every MIN_POLL_SECONDS) under the execution history limit.
 */
export const MIN_POLL_SECONDS = 3;
export const MAX_POLL_SECONDS = 60;
