/**
 * The provider's own limit on our unfinished tasks, learned from its answers to creates.
 *
 * The scheme is TCP's congestion control (slow start, then additive increase) with one change to the
 * decrease: a refused create (429, or the gateway's concurrency error) sets the limit to the number
 * of our tasks the provider holds at that moment, a level it has just shown it accepts, instead of a
 * fixed fraction of the old limit. A fixed halving would park the pipeline at half the provider's
 * quota half the time (utilisation about 0.75); a measured decrease keeps the provider full and
 * costs one refused create per probe. The slow-start threshold halves on a refusal as in TCP, so a
 * limit that a burst of refusals pulled far down (the count is read while other creates are still in
 * flight) climbs back quickly, and above the threshold it grows by one per limit's worth of creates.
 */

export interface LearnedLimit {
  /** The learned limit; fractional, since it grows by 1/limit per create in congestion avoidance. */
  cap: number;
  /** Below it the limit grows by one per create (slow start); above, by 1/cap. */
  threshold: number;
}

/** A limit that never learned anything: the configured maximum. */
export function initialLimit(maxJobsInFlight: number): LearnedLimit {
  return { cap: maxJobsInFlight, threshold: maxJobsInFlight };
}

/** Whole slots a job may take under the limit and the configured maximum. */
export function slotsAllowed(limit: LearnedLimit, maxJobsInFlight: number): number {
  // The growth adds 1/cap at a time: forty fortieths must make one whole slot despite rounding.
  return Math.max(1, Math.min(maxJobsInFlight, Math.floor(limit.cap + 1e-9)));
}

/**
 * A create succeeded while `tasksAtProvider` of our tasks (this one included) were unfinished there:
 * the provider accepts at least that many, and the limit grows.
 */
export function afterCreated(limit: LearnedLimit, tasksAtProvider: number, maxJobsInFlight: number): LearnedLimit {
  const proven = Math.max(limit.cap, tasksAtProvider);
  const growth = proven < limit.threshold ? 1 : 1 / proven;
  return { cap: Math.min(maxJobsInFlight, proven + growth), threshold: limit.threshold };
}

/** A create was refused for the provider's limit while `tasksAtProvider` of ours were unfinished there. */
export function afterRefused(limit: LearnedLimit, tasksAtProvider: number): LearnedLimit {
  const cap = Math.max(1, Math.min(limit.cap, tasksAtProvider));
  return { cap, threshold: Math.max(cap, Math.floor(limit.cap / 2)) };
}
