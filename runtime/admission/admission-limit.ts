/**
 * The provider's own limit on our unfinished tasks, learned from its answers to creates.
 *
 * The scheme is TCP's congestion control (slow start, then additive increase) with two changes to
 * the decrease, both for a limit that is a hard quota rather than a congested link:
 * - a refused create (429, or the gateway's concurrency error) sets the limit to the number of our
 *   tasks the provider holds at that moment, a level it has just shown it accepts, instead of a
 *   fixed fraction of the old limit: a fixed halving would park the pipeline at half the provider's
 *   quota half the time (utilisation about 0.75);
 * - one decrease per episode, as NewReno does for the losses of one window (RFC 6582): a refusal of
 *   a create whose job took its slot before the last decrease tells nothing new (that create was
 *   sent under the old limit, which the decrease already answered), so it changes nothing. Without
 *   this a burst's hundred creates refused in a row each pull the limit down to whatever the count
 *   was at that instant, and the limit ends at the count's lowest reading instead of the quota.
 * The slow-start threshold halves on a decrease as in TCP, so a limit that a low reading pulled far
 * down (the count is read while other accepted creates are still being recorded) climbs back one
 * slot per create; above it the limit grows by one per limit's worth of creates, as TCP's 1/limit
 * per create, but drawn: one slot with probability 1/limit. The same growth on average, and the
 * limit, one item every create of the pipeline writes otherwise, changes once per limit's worth of
 * creates instead of at every one. Below the threshold an accepted create also proves the count it
 * was made at, so the limit climbs straight back to a level the provider accepted; above it the count
 * is no proof (it includes tasks that ended and wait for the poll that sees it).
 */

export interface LearnedLimit {
  /** The learned limit, in whole slots. */
  cap: number;
  /** Below it the limit grows by one per create (slow start); above, by one slot with probability 1/cap. */
  threshold: number;
  /** When the limit was last brought down (ms since the epoch): refusals of jobs admitted before it are of the same episode. */
  decreasedAt?: number;
}

/** A limit that never learned anything: the configured maximum. */
export function initialLimit(maxJobsInFlight: number): LearnedLimit {
  return { cap: maxJobsInFlight, threshold: maxJobsInFlight };
}

/** Whole slots a job may take under the limit and the configured maximum. */
export function slotsAllowed(limit: LearnedLimit, maxJobsInFlight: number): number {
  // A limit learned before the limit was whole (a fraction of a slot per create) still counts whole slots.
  return Math.max(1, Math.min(maxJobsInFlight, Math.floor(limit.cap + 1e-9)));
}

/**
 * A create succeeded while `tasksAtProvider` of our tasks (this one included) were unfinished there:
 * the provider accepts at least that many, and the limit grows. `random` is in [0, 1).
 */
export function afterCreated(limit: LearnedLimit, tasksAtProvider: number, maxJobsInFlight: number, random: number): LearnedLimit {
  const cap = Math.floor(limit.cap + 1e-9);
  // Slow start: a limit a low reading pulled down climbs straight back to what the provider just accepted, and one more.
  if (cap < limit.threshold) return { ...limit, cap: Math.min(maxJobsInFlight, Math.max(cap, tasksAtProvider) + 1) };
  // Above the threshold, where the last refusal put it, the count is no proof: it counts tasks that
  // have ended at the provider and wait for the poll that sees it, so it runs ahead of the provider's.
  return { ...limit, cap: Math.min(maxJobsInFlight, cap + (random < 1 / cap ? 1 : 0)) };
}

export interface Refusal {
  /** Our tasks the provider holds as the refusal is recorded. */
  tasksAtProvider: number;
  /** When the refused job took its slot (ms), if its slot is still held. */
  admittedAt?: number;
  /** Now (ms). */
  at: number;
}

/** A create was refused for the provider's limit. */
export function afterRefused(limit: LearnedLimit, refusal: Refusal): LearnedLimit {
  const sameEpisode = limit.decreasedAt !== undefined && refusal.admittedAt !== undefined && refusal.admittedAt < limit.decreasedAt;
  if (sameEpisode) return limit;
  const cap = Math.max(1, Math.min(limit.cap, refusal.tasksAtProvider));
  return { cap, threshold: Math.max(cap, Math.floor(limit.cap / 2)), decreasedAt: refusal.at };
}
