import { integerOption, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { jobTable } from '../format.js';
import type { JobPage, JobView } from '../job-view.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';

const OPTIONS = {
  ...TARGET_OPTIONS,
  status: { type: 'string' },
  trigger: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

const DEFAULT_LIMIT = 20;
/** The API's largest page. */
const MAX_PAGE = 100;

/** `list`: newest first, following `nextCursor` page by page until --limit jobs are shown. */
export async function list(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.list);
  if (values.help) {
    console.log(USAGE.list);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`list takes no arguments (got ${positionals.join(' ')})\n${USAGE.list}`);
  const limit = integerOption(values.limit, 'limit', 1, DEFAULT_LIMIT);
  const target = await resolveTarget({ api: values.api });
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  let more = false;
  do {
    const { body: page } = await target.api.request<JobPage>({
      method: 'GET',
      path: '/jobs',
      query: {
        status: values.status?.toUpperCase(),
        trigger: values.trigger?.toLowerCase(),
        limit: String(Math.min(MAX_PAGE, limit - jobs.length)),
        cursor,
      },
    });
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
    more = cursor !== undefined;
  } while (more && jobs.length < limit);
  if (values.json) {
    console.log(JSON.stringify(jobs, null, 2));
    return EXIT.OK;
  }
  if (jobs.length === 0) {
    console.log('No jobs.');
    return EXIT.OK;
  }
  console.log(jobTable(jobs));
  if (more) console.log(`(the newest ${jobs.length}; more remain: raise --limit)`);
  return EXIT.OK;
}
