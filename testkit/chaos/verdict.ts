/** The verdict: every check on the run's jobs, the pass conditions, and the report with what was sent and injected. */
import { describeDenial } from '../../local/stack/access/access-check.js';
import { checkEvents, checkObjects, checkProviderTasks, nonTerminalJobs, outcomes } from './checks.js';
import { uploadsOf } from './hostile-cases.js';
import { matchJobs } from './matching.js';
import type { ChaosReport, PassCondition } from './report.js';
import type { ChaosStack } from './stack.js';
import type { Submitted } from './submissions.js';
import type { Waited } from './waiting.js';

export interface RunEnd {
  waited: Waited;
  sweeper: ChaosReport['sweeper'];
  /** The slots sampled all through the run. */
  slotSamples: { count: number; maxHeld: number };
  /** The jobs still holding a slot once everything ended. */
  leakedSlots: string[];
}

export async function judgeRun(chaos: ChaosStack, submitted: Submitted, { waited, sweeper, slotSamples, leakedSlots }: RunEnd): Promise<ChaosReport> {
  const { config, stack, s3, started } = chaos;
  const { submissions, batchLines, manifests, hostilePlan, batches } = submitted;
  const matched = await matchJobs(chaos, submitted);
  const { ourJobs, hostile, lost, duplicated, strays, submissionProblems } = matched;
  const nonTerminal = nonTerminalJobs(stack, matched);
  const providerTasks = checkProviderTasks(stack, matched);
  const intact = await checkObjects(s3, providerTasks.tasks, matched);
  const events = checkEvents(stack, matched);
  const ended = outcomes(providerTasks.tasksByPrompt, matched);
  const s3Uploads = submissions.filter((submission) => submission.kind === 's3').length;
  const wallSeconds = (Date.now() - started) / 1000;
  const { maxPerJob } = providerTasks.report;
  if (!stack.access) throw new Error('the chaos stack records no AWS calls: start it with checkAccess');
  const denials = (await stack.access.denials()).map(describeDenial);
  const calls = Object.values(stack.access.callsByPrincipal()).reduce((sum, count) => sum + count, 0);

  const pass: PassCondition[] = [
    { name: 'lost jobs', ok: lost.length === 0, value: `${lost.length} (must be 0)` },
    { name: 'doubled jobs (2+ jobs for one submission)', ok: duplicated.length === 0, value: `${duplicated.length} (must be 0)` },
    { name: 'jobs no submission made', ok: strays.length === 0, value: `${strays.length} (must be 0)` },
    { name: 'non-terminal after the deadline', ok: nonTerminal.length === 0, value: `${nonTerminal.length} (must be 0)` },
    { name: 'provider tasks per job (max)', ok: maxPerJob <= 1, value: `${maxPerJob} (must be <= 1)` },
    {
      name: 'slots held at once (max)',
      ok: slotSamples.maxHeld <= config.maxJobsInFlight,
      value: `${slotSamples.maxHeld} over ${slotSamples.count} samples (must be <= ${config.maxJobsInFlight})`,
    },
    {
      name: 'slots still held at the end (leaked)',
      ok: leakedSlots.length === 0,
      value: `${leakedSlots.length} (must be 0)${leakedSlots.length > 0 ? `: ${leakedSlots.slice(0, 5).join(', ')}` : ''}`,
    },
    {
      name: 'SUCCEEDED objects intact',
      ok: intact.offenders.length === 0,
      value: `${intact.intact}/${intact.succeeded} (must be 100 %)`,
    },
    {
      name: 'exactly 1 completion event per terminal job',
      ok: events.offenders.length === 0,
      value: `${events.exactlyOne}/${events.terminalJobs}`,
    },
    // A class none of whose cases was sent proves nothing: it fails rather than passes.
    { name: 'AWS calls a role would deny', ok: denials.length === 0, value: `${denials.length} of ${calls} calls (must be 0)` },
    ...hostile.rows.map((row) => ({
      name: `hostile: ${row.label}`,
      ok: row.cases > 0 && row.violations.length === 0,
      value: `${row.violations.length} violations in ${row.cases} cases (must be 0 in 1+)`,
    })),
  ];

  const { log: _log, ...printableConfig } = config;
  return {
    config: printableConfig,
    submitted: {
      total: submissions.length,
      http: submissions.filter((submission) => submission.kind === 'http').length,
      'http-idempotent': submissions.filter((submission) => submission.kind === 'http-idempotent').length,
      s3: s3Uploads,
      batch: batchLines.length,
    },
    accepted: ourJobs.length,
    hostile: hostile.rows,
    ...ended,
    cancelled: ended.statuses.CANCELLED ?? 0,
    nonTerminal,
    nonTerminalBeforeSweep: waited.nonTerminalBeforeSweep,
    lost,
    duplicated,
    strays,
    submissionProblems,
    providerTasks: providerTasks.report,
    intact,
    events,
    idempotentRetries: submitted.idempotentRetries,
    batch: { ...batches.stats, manifests: manifests.length },
    sweeper,
    deliveryFailures: stack.deliveryFailures().map((failure) => JSON.stringify(failure).slice(0, 400)),
    access: { calls, denials },
    injected: {
      simulator: stack.simulator.stats(),
      chaos: { ...stack.chaosStats },
      duplicatedS3Deliveries: config.chaos.duplicateS3Deliveries ? s3Uploads + uploadsOf(hostilePlan.pooled) : 0,
    },
    timings: { submitSeconds: submitted.submitSeconds, allStartedSeconds: waited.allStartedSeconds, settledSeconds: waited.settledSeconds, wallSeconds },
    pass,
    ok: pass.every((condition) => condition.ok),
  };
}
