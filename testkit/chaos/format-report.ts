import type { ChaosReport, Offender } from './report.js';

/** The report as the bench prints it: one table of outcomes, one of injected faults, then the verdict. */
export function formatReport(report: ChaosReport, maxOffenders = 20): string {
  const lines: string[] = [];
  const row = (label: string, value: string | number) => lines.push(`  ${label.padEnd(46)} ${value}`);
  const { config } = report;
  lines.push(
    `Chaos run: ${config.jobs} jobs, time scale ${config.timeScale}, maxJobsInFlight ${config.maxJobsInFlight}, ` +
      `concurrency ${config.concurrency}, max active ${config.maxActive || 'unpaced'}, seed ${config.seed}`,
  );
  lines.push(`  faults ${JSON.stringify(config.faults)}`);
  lines.push(`  chaos  ${JSON.stringify(config.chaos)}`);
  lines.push('');
  lines.push('Submitted');
  row('POST /jobs', report.submitted.http);
  row(
    'POST /jobs with Idempotency-Key, sent twice',
    `${report.submitted['http-idempotent']} (same job both times: ${report.idempotentRetries.sameJob}/${report.idempotentRetries.sent})`,
  );
  row('S3 uploads under incoming/ (each delivered twice)', report.submitted.s3);
  row('batch manifest lines', `${report.submitted.batch} in ${report.batch.manifests} manifests, ${report.batch.runs} batch runs`);
  row('total', report.submitted.total);
  lines.push('');
  lines.push('Hostile submissions (mixed into the traffic above)');
  for (const hostile of report.hostile) {
    row(hostile.label, hostile.sent);
    row('  outcomes', hostile.outcomes);
    row('  violations', hostile.violations.length);
  }
  lines.push('');
  lines.push('Outcomes (every job, the hostile ones included)');
  const hostileJobs = report.hostile.reduce((sum, hostile) => sum + hostile.expectedJobs, 0);
  row('accepted jobs', `${report.accepted} (expected ${report.submitted.total} + ${hostileJobs} from hostile submissions)`);
  row('SUCCEEDED', report.statuses.SUCCEEDED ?? 0);
  row('FAILED', report.statuses.FAILED ?? 0);
  for (const [code, count] of Object.entries(report.failedByCode)) row(`  ${code}`, count);
  row('TIMED_OUT', report.statuses.TIMED_OUT ?? 0);
  for (const [code, count] of Object.entries(report.timedOutByCode)) row(`  ${code}`, count);
  row('CANCELLED', report.cancelled);
  row('non-terminal when waiting stopped (before sweep)', report.nonTerminalBeforeSweep);
  const sweep = report.sweeper.report;
  row(
    'sweeper',
    sweep
      ? `active ${sweep.active}, started ${sweep.started.length}, returned to the line ${sweep.returned.length}, resumed ${sweep.resumed.length}, ended ${sweep.ended.length}, slots reclaimed ${sweep.slotsReclaimed.length}`
      : `threw: ${report.sweeper.error}`,
  );
  row(
    'provider tasks',
    `${report.providerTasks.total} (jobs by task count: ${JSON.stringify(report.providerTasks.perJob)}, orphans ${report.providerTasks.orphans})`,
  );
  row('completion events', report.events.total);
  row('delivery failures (after Lambda retries)', report.deliveryFailures.length);
  row('submission problems', report.submissionProblems.length);
  lines.push('');
  lines.push('Error codes, examples');
  for (const [code, examples] of Object.entries(report.errorExamples).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${code}`);
    for (const example of examples) lines.push(`    ${example.prompt ?? '(refused: no request)'} [${example.kind ?? '?'}] ${example.jobId}: ${example.detail}`);
  }
  lines.push('');
  lines.push('Injected');
  const sim = report.injected.simulator;
  row(
    'creates',
    `${sim.creates}: accepted ${sim.createsAccepted}, refused ${sim.createsRefused}, unanswered ${sim.createsUnanswered}, invalid ${sim.createsInvalid}`,
  );
  row('provider tasks created', sim.tasksCreated);
  row('polls', `${sim.polls}, faulted ${sim.pollFaults}`);
  row('downloads', `${sim.downloads}: cut ${sim.downloadsCut}, full ${sim.fullDownloads}`);
  row('simulator faults by kind', JSON.stringify(sim.faults));
  const chaos = report.injected.chaos;
  row('task invocations', `${chaos.taskInvocations}: crashed before work ${chaos.crashedBeforeWork}, after work ${chaos.crashedAfterWork}`);
  row('S3 events delivered twice', report.injected.duplicatedS3Deliveries);
  lines.push('');
  lines.push('Timings');
  const t = report.timings;
  row('HTTP/S3 submissions sent', `${t.submitSeconds.toFixed(1)} s`);
  row('every batch line started', `${t.allStartedSeconds.toFixed(1)} s`);
  row('every job terminal (or gave up)', `${t.settledSeconds.toFixed(1)} s`);
  row('wall time', `${t.wallSeconds.toFixed(1)} s`);
  lines.push('');
  lines.push('Pass conditions');
  for (const condition of report.pass) lines.push(`  ${condition.ok ? 'PASS' : 'FAIL'}  ${condition.name.padEnd(44)} ${condition.value}`);
  const sections: [string, Offender[]][] = [
    ['lost', report.lost],
    ['doubled', report.duplicated],
    ['made by no submission', report.strays],
    ['non-terminal', report.nonTerminal],
    ['more than one provider task', report.providerTasks.offenders],
    ['SUCCEEDED but not intact', report.intact.offenders],
    ['not exactly one completion event', report.events.offenders],
    ['submission problems', report.submissionProblems],
    ...report.hostile.map((hostile): [string, Offender[]] => [`hostile: ${hostile.label}`, hostile.violations]),
  ];
  for (const [title, offenders] of sections) {
    if (offenders.length === 0) continue;
    lines.push('');
    lines.push(`Offending jobs: ${title} (${offenders.length}${offenders.length > maxOffenders ? `, first ${maxOffenders}` : ''})`);
    for (const offender of offenders.slice(0, maxOffenders)) {
      lines.push(`  ${offender.prompt ?? '?'} [${offender.kind ?? '?'}] ${offender.jobId ?? ''}: ${offender.detail}`);
    }
  }
  if (report.deliveryFailures.length > 0) {
    lines.push('');
    lines.push(`Delivery failures (${report.deliveryFailures.length})`);
    for (const failure of report.deliveryFailures.slice(0, maxOffenders)) lines.push(`  ${failure}`);
  }
  if (report.access.denials.length > 0) {
    lines.push('');
    lines.push(`AWS calls a role would deny (${report.access.denials.length})`);
    for (const denial of report.access.denials.slice(0, maxOffenders)) lines.push(`  ${denial}`);
  }
  if (report.batch.errors.length > 0) {
    lines.push('');
    lines.push(`Batch run errors (${report.batch.errors.length})`);
    for (const error of report.batch.errors.slice(0, maxOffenders)) lines.push(`  ${error}`);
  }
  lines.push('');
  lines.push(report.ok ? 'CHAOS RUN PASSED' : 'CHAOS RUN FAILED');
  return lines.join('\n');
}
