import { onePositional, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, type ExitCode } from '../errors.js';
import { checkOutGoesWithWait, followAccepted } from '../follow.js';
import type { SubmitAnswer } from '../job-view.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';

const OPTIONS = {
  ...TARGET_OPTIONS,
  'idempotency-key': { type: 'string' },
  wait: { type: 'boolean', default: false },
  out: { type: 'string' },
} as const;

/** `rerun <jobId>`: POST /jobs/{jobId}/rerun, a new job from the stored request; --wait as for generate. */
export async function rerun(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.rerun);
  if (values.help) {
    console.log(USAGE.rerun);
    return EXIT.OK;
  }
  const jobId = onePositional(positionals, 'jobId', USAGE.rerun);
  checkOutGoesWithWait(values);
  const target = await resolveTarget({ api: values.api });
  const started = Date.now();
  const key = values['idempotency-key'];
  const { status, body: answer } = await target.api.request<SubmitAnswer>({
    method: 'POST',
    path: `/jobs/${encodeURIComponent(jobId)}/rerun`,
    ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
  });
  console.log(`Runs ${jobId} again`);
  return followAccepted(target, { status, answer, wait: values.wait, out: values.out, started });
}
