import { useRef, useState } from 'preact/hooks';
import { call, describeError, isAbort } from '../api.js';
import { useAnnounce } from '../announcer.js';
import { useContract } from '../contract.js';
import { formatTime, isTerminal, promptOf, relativeTime, type Job, type JobPage } from '../jobs.js';
import { usePolling } from '../polling.js';
import { links } from '../route.js';
import { StatusBadge } from './status-badge.js';

const PAGE_SIZE = 20;
/** The API's largest page: how far down the line a place is shown. */
const LINE_PAGE = 100;
export const POLL_MS = 2000;

function Trigger({ job }: { job: Job }) {
  return (
    <>
      <span class={`trigger trigger-${job.trigger.type}`}>{job.trigger.type}</span> <span class="source">{job.trigger.source}</span>
    </>
  );
}

function Place({ job, line }: { job: Job; line: Map<string, number> | undefined }) {
  if (!job.waiting || !line) return null;
  const place = line.get(job.jobId);
  return <span class="place">{place === undefined ? `past place ${LINE_PAGE} in line` : `place ${place} in line`}</span>;
}

export function JobList() {
  const { contract, error: contractError } = useContract();
  const announce = useAnnounce();
  const [status, setStatus] = useState('');
  const [trigger, setTrigger] = useState('');
  // The cursors of the pages before this one: "Newer" goes back through them.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<JobPage>();
  const [line, setLine] = useState<Map<string, number>>();
  const [error, setError] = useState<string>();
  const [checkedAt, setCheckedAt] = useState<string>();
  const seen = useRef<Set<string> | undefined>(undefined);
  const cursor = cursors.at(-1);
  const firstPage = cursors.length === 1;

  usePolling(
    async (signal) => {
      try {
        const next = await call<JobPage>('GET', '/jobs', { query: { status, trigger, limit: String(PAGE_SIZE), cursor }, signal });
        // GET /jobs?status=QUEUED is the admission line itself, next to start first.
        const waiting = next.jobs.some((job) => job.waiting);
        const linePage = waiting ? await call<JobPage>('GET', '/jobs', { query: { status: 'QUEUED', limit: String(LINE_PAGE) }, signal }) : undefined;
        if (firstPage && seen.current) {
          const fresh = next.jobs.filter((job) => !seen.current!.has(job.jobId)).length;
          if (fresh > 0) announce(`${fresh} new ${fresh === 1 ? 'job' : 'jobs'}`);
        }
        seen.current = new Set(next.jobs.map((job) => job.jobId));
        setPage(next);
        setLine(linePage ? new Map(linePage.jobs.filter((job) => job.waiting).map((job, index) => [job.jobId, index + 1])) : undefined);
        setError(undefined);
        setCheckedAt(new Date().toISOString());
      } catch (caught) {
        if (!isAbort(caught)) setError(describeError(caught));
      }
    },
    POLL_MS,
    true,
    `${status}|${trigger}|${cursor ?? ''}`,
  );

  // Another set of jobs is coming: the old rows go at once rather than stand under the new filter or page.
  const showOther = (cursorsNext: (string | undefined)[]) => {
    seen.current = undefined;
    setPage(undefined);
    setCursors(cursorsNext);
  };
  const filter = (set: (value: string) => void) => (event: Event) => {
    set((event.currentTarget as HTMLSelectElement).value);
    showOther([undefined]);
  };

  return (
    <section aria-labelledby="jobs-title">
      <div class="title-row">
        <h1 id="jobs-title" tabIndex={-1}>
          Jobs
        </h1>
        <a class="button primary" href={links.newJob}>
          New job
        </a>
      </div>
      <form class="filters" aria-label="Filter jobs" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select name="status" value={status} onChange={filter(setStatus)}>
            <option value="">All statuses</option>
            {contract?.statuses.map((value) => (
              <option value={value}>{value === 'QUEUED' ? 'QUEUED (the line, next first)' : value}</option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select name="trigger" value={trigger} onChange={filter(setTrigger)}>
            <option value="">All triggers</option>
            {contract?.triggers.map((value) => (
              <option value={value}>{value}</option>
            ))}
          </select>
        </label>
        <p class="hint" aria-live="off">
          Updates every {POLL_MS / 1000} s while this tab is visible{checkedAt ? `; last checked ${formatTime(checkedAt)}` : ''}.
        </p>
      </form>
      {contractError && (
        <p class="error" role="alert">
          {contractError}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!page && !error && <p>Loading jobs…</p>}
      {page && page.jobs.length === 0 && <p>No jobs{status || trigger ? ' match these filters' : ' yet'}.</p>}
      {page && page.jobs.length > 0 && (
        <table class="jobs">
          <caption class="visually-hidden">Jobs, newest first{status === 'QUEUED' ? ' (the admission line, next first)' : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Trigger</th>
              <th scope="col">Prompt</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {page.jobs.map((job) => (
              <tr key={job.jobId} data-job-id={job.jobId}>
                <td>
                  <a class="job-id" href={links.job(job.jobId)}>
                    {job.jobId}
                  </a>
                </td>
                <td>
                  <StatusBadge job={job} />
                  {!isTerminal(job) && job.status !== 'QUEUED' && <span class="progress-text">{job.progress} %</span>}
                  <Place job={job} line={line} />
                  {job.error && <span class="error-code">{job.error.code}</span>}
                </td>
                <td>
                  <Trigger job={job} />
                </td>
                <td class="prompt">{promptOf(job) ?? <span class="muted">(no prompt)</span>}</td>
                <td>
                  <time dateTime={job.createdAt} title={formatTime(job.createdAt)}>
                    {relativeTime(job.createdAt)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {/* aria-disabled, not disabled: a button that turns disabled under the keyboard's focus drops it. */}
      <nav class="pager" aria-label="Pages">
        <button type="button" aria-disabled={firstPage} onClick={() => !firstPage && showOther(cursors.slice(0, -1))}>
          Newer
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" aria-disabled={!page?.nextCursor} onClick={() => page?.nextCursor && showOther([...cursors, page.nextCursor])}>
          Older
        </button>
      </nav>
    </section>
  );
}
