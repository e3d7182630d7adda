/**
 * The poll policy reasons in provider seconds: its prior, its history, its gaps and the Wait states
 * it asks for. The local stack at LOCAL_TIME_SCALE s makes generation, and every Wait, s times as
 * long (0.05: a 100 s task takes 5 s), while the handlers read the ordinary clock. So a span read
 * off the clock is divided by s before the policy sees it, and a span the policy answers is
 * multiplied by s before it becomes a clock time (the job's estimatedFinishAt). Without it the
 * policy would take a task 5 s into its run for one that just began, and poll it twice as seldom as
 * on AWS. On AWS s is 1 and both are the identity.
 */

/** Policy seconds from `from` to `to`, clock times. */
export function policySecondsBetween(from: Date | string, to: Date | string, timeScale: number): number {
  return (new Date(to).getTime() - new Date(from).getTime()) / 1000 / timeScale;
}

/** Clock seconds of a span of policy seconds. */
export function clockSecondsOf(policySeconds: number, timeScale: number): number {
  return policySeconds * timeScale;
}
