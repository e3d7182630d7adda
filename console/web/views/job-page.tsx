import { useMemo, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { call, describeError, isAbort } from '../api.js';
import { useAnnounce } from '../announcer.js';
import { formatBytes, formatTime, isTerminal, relativeTime, timelineOf, type ContentItem, type Job } from '../jobs.js';
import { usePolling } from '../polling.js';
import { links, navigate } from '../route.js';
import { POLL_MS } from './job-list.js';
import { StatusBadge } from './status-badge.js';

function mediaUrl(item: ContentItem): string | undefined {
  return item.image_url?.url ?? item.video_url?.url ?? item.audio_url?.url;
}

function Field({ name, children }: { name: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

function Time({ at }: { at: string }) {
  return (
    <time dateTime={at}>
      {formatTime(at)} <span class="muted">({relativeTime(at)})</span>
    </time>
  );
}

function JobLink({ jobId }: { jobId: string }) {
  return (
    <a class="job-id" href={links.job(jobId)}>
      {jobId}
    </a>
  );
}

function Progress({ job }: { job: Job }) {
  return (
    <section aria-labelledby="progress-title">
      <h2 id="progress-title">Progress</h2>
      <div class="progress-row">
        <progress id="job-progress" max={100} value={job.progress} aria-labelledby="progress-title" />
        <span>{job.progress} %</span>
      </div>
      <dl class="fields">
        {job.waiting && (
          <Field name="In line">
            {job.ahead === undefined ? 'waiting for a slot' : job.ahead === 0 ? 'next to start' : `${job.ahead} ${job.ahead === 1 ? 'job' : 'jobs'} ahead`}
            {job.priority ? ` · lane ${job.priority}` : ''}
          </Field>
        )}
        {job.estimatedFinishAt && !isTerminal(job) && (
          <Field name="Estimated finish">
            <Time at={job.estimatedFinishAt} />
          </Field>
        )}
        {job.deadlineAt && !isTerminal(job) && (
          <Field name="Deadline">
            <Time at={job.deadlineAt} />
          </Field>
        )}
        <Field name="Polls of the provider">{job.polls ?? 0}</Field>
        {job.providerTaskId && (
          <Field name="Provider task">
            <code>{job.providerTaskId}</code>
          </Field>
        )}
        {job.resumes ? <Field name="Resumed after a lost execution">{job.resumes}×</Field> : null}
      </dl>
    </section>
  );
}

function Outcome({ job, videoUrl }: { job: Job; videoUrl: string | undefined }) {
  if (!job.error && !job.output) return null;
  return (
    <section aria-labelledby="outcome-title">
      <h2 id="outcome-title">Outcome</h2>
      {job.error && (
        <div class="job-error">
          <p>
            <code data-testid="error-code">{job.error.code}</code>: <span data-testid="error-message">{job.error.message}</span>
          </p>
          {job.error.issues && (
            <ul>
              {job.error.issues.map((issue) => (
                <li>
                  <code>{issue.path}</code>: {issue.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {job.output && (
        <>
          {videoUrl && (
            // The browser's own player: keyboard operable, captions menu, seeking by Range requests.
            <video class="player" controls preload="metadata" src={videoUrl} aria-label={`The video of job ${job.jobId}`} />
          )}
          <dl class="fields">
            <Field name="Object">
              <code>
                s3://{job.output.bucket}/{job.output.key}
              </code>
            </Field>
            <Field name="Size">{formatBytes(job.output.bytes)}</Field>
            <Field name="Type">{job.output.contentType}</Field>
            <Field name="SHA-256">
              <code class="hash">{job.output.sha256}</code>
            </Field>
          </dl>
        </>
      )}
    </section>
  );
}

function RequestFields({ job }: { job: Job }) {
  const request = job.request;
  return (
    <section aria-labelledby="request-title">
      <h2 id="request-title">Request</h2>
      {!request ? (
        <p>No request was recorded: it was refused before it met the contract (see the outcome).</p>
      ) : (
        <dl class="fields">
          {request.content.map((item) =>
            item.type === 'text' ? (
              <Field name="Prompt">
                <span class="prompt-full">{item.text}</span>
              </Field>
            ) : (
              <Field name={`${item.type.replace('_url', '')}${item.role ? ` (${item.role})` : ''}`}>
                <code class="url">{mediaUrl(item)}</code>
              </Field>
            ),
          )}
          <Field name="Model">{request.model}</Field>
          <Field name="Ratio">{request.ratio}</Field>
          <Field name="Resolution">{request.resolution}</Field>
          <Field name="Duration">{request.duration === -1 ? 'the model decides' : `${request.duration} s`}</Field>
          <Field name="Audio">{request.generate_audio ? 'yes' : 'no'}</Field>
          <Field name="Watermark">{request.watermark ? 'yes' : 'no'}</Field>
          {request.tools && <Field name="Tools">{request.tools.map((tool) => tool.type).join(', ')}</Field>}
        </dl>
      )}
      <h3>Trigger</h3>
      <dl class="fields">
        <Field name="Type">{job.trigger.type}</Field>
        <Field name="Source">
          <code class="url">{job.trigger.source}</code>
        </Field>
        {job.priority && <Field name="Lane">{job.priority}</Field>}
        {job.rerunOf && (
          <Field name="Runs again">
            <JobLink jobId={job.rerunOf} />
          </Field>
        )}
        {job.reruns && job.reruns.length > 0 && (
          <Field name="Run again as">
            {job.reruns.map((jobId) => (
              <>
                <JobLink jobId={jobId} />{' '}
              </>
            ))}
          </Field>
        )}
      </dl>
      <h3>Metadata</h3>
      {job.metadata && Object.keys(job.metadata).length > 0 ? (
        <dl class="fields">
          {Object.entries(job.metadata).map(([name, value]) => (
            <Field name={name}>{value}</Field>
          ))}
        </dl>
      ) : (
        <p class="muted">None.</p>
      )}
      {job.webhook && (
        <>
          <h3>Webhook</h3>
          <dl class="fields">
            <Field name="URL">
              <code class="url">{job.webhook.url}</code>
            </Field>
            <Field name="Events">{job.webhook.events.join(', ')}</Field>
            {job.webhook.goneAt && <Field name="Stopped">the receiver answered 410 Gone at {job.webhook.goneAt}</Field>}
          </dl>
          {job.webhook.attempts && job.webhook.attempts.length > 0 ? (
            <ol class="timeline" aria-label="Webhook deliveries">
              {job.webhook.attempts.map((attempt) => (
                <li>
                  {attempt.event}, attempt {attempt.attempt}: {attempt.status !== undefined ? `HTTP ${attempt.status}` : attempt.error} ({attempt.at})
                </li>
              ))}
            </ol>
          ) : (
            <p class="muted">No delivery yet.</p>
          )}
        </>
      )}
      {job.warnings && (
        <ul class="warnings">
          {job.warnings.map((warning) => (
            <li>{warning}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Timeline({ job }: { job: Job }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline">
        {timelineOf(job).map((entry) => (
          <li>
            <time dateTime={entry.at}>{formatTime(entry.at)}</time> {entry.what}
          </li>
        ))}
      </ol>
    </section>
  );
}

function CancelDialog({ jobId, onCancelled }: { jobId: string; onCancelled: (job: Job) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      onCancelled(await call<Job>('DELETE', `/jobs/${encodeURIComponent(jobId)}`));
      dialog.current?.close();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class="danger"
        onClick={() => {
          setError(undefined);
          dialog.current?.showModal();
        }}
      >
        Cancel job…
      </button>
      <dialog ref={dialog} aria-labelledby="cancel-title" aria-describedby="cancel-text">
        <h2 id="cancel-title">Cancel this job?</h2>
        <p id="cancel-text">Its execution stops and it ends CANCELLED. A task the provider already started is not refunded.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          {/* autofocus on the safe choice: Enter right after opening keeps the job. */}
          <button type="button" autofocus onClick={() => dialog.current?.close()}>
            Keep the job
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
            Cancel the job
          </button>
        </div>
      </dialog>
    </>
  );
}

export function JobPage({ jobId }: { jobId: string }) {
  const announce = useAnnounce();
  const [job, setJob] = useState<Job>();
  // Kept from the first answer that has one: each GET presigns a new URL, and a new src would restart the player.
  const [videoUrl, setVideoUrl] = useState<string>();
  const [error, setError] = useState<string>();
  const [rerunError, setRerunError] = useState<string>();
  const [rerunning, setRerunning] = useState(false);
  // One key per visit: a double click or a retry after a lost answer makes one new job, not two.
  const rerunKey = useMemo(() => `console-rerun-${crypto.randomUUID()}`, [jobId]);

  const show = (next: Job) => {
    setJob(next);
    if (next.downloadUrl) setVideoUrl((current) => current ?? next.downloadUrl);
  };

  // A TIMED_OUT job may still get its video late: keep asking until it has one.
  const settled = job !== undefined && isTerminal(job) && !(job.status === 'TIMED_OUT' && !job.output);
  usePolling(
    async (signal) => {
      try {
        show(await call<Job>('GET', `/jobs/${encodeURIComponent(jobId)}`, { signal }));
        setError(undefined);
      } catch (caught) {
        if (!isAbort(caught)) setError(describeError(caught));
      }
    },
    POLL_MS,
    !settled,
    jobId,
  );

  const rerun = async () => {
    setRerunning(true);
    setRerunError(undefined);
    try {
      const created = await call<{ jobId: string }>('POST', `/jobs/${encodeURIComponent(jobId)}/rerun`, { headers: { 'idempotency-key': rerunKey } });
      announce(`Job ${created.jobId} created from job ${jobId}`);
      navigate(links.job(created.jobId));
    } catch (caught) {
      // An API without the route answers 404 or 405: said as it is, like any other refusal.
      setRerunError(`Run again failed: ${describeError(caught)}`);
    } finally {
      setRerunning(false);
    }
  };

  return (
    <article aria-labelledby="job-title">
      <p class="breadcrumb">
        <a href={links.list}>← All jobs</a>
      </p>
      <div class="title-row">
        <h1 id="job-title" tabIndex={-1}>
          Job <span class="job-id">{jobId}</span>
        </h1>
        {/* A live region of its own: each status change is read out as it comes. */}
        <div aria-live="polite" aria-atomic="true" data-testid="job-status">
          {job && <StatusBadge job={job} />}
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {job && (
        <>
          <div class="actions">
            {videoUrl && (
              <a class="button primary" href={videoUrl} download={`${job.jobId}.mp4`}>
                Download MP4
              </a>
            )}
            {!isTerminal(job) && <CancelDialog jobId={job.jobId} onCancelled={show} />}
            {job.request && (
              <button type="button" disabled={rerunning} onClick={() => void rerun()}>
                Run again
              </button>
            )}
          </div>
          {rerunError && (
            <p class="error" role="alert" data-testid="rerun-error">
              {rerunError}
            </p>
          )}
          <div class="job-grid">
            <div>
              <Progress job={job} />
              <Outcome job={job} videoUrl={videoUrl} />
              <Timeline job={job} />
            </div>
            <RequestFields job={job} />
          </div>
        </>
      )}
    </article>
  );
}
