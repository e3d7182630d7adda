import type { JobView } from './job-view.js';

/** `42s`, `3m`, `5h`, `2d`: how long ago, at a glance. */
export function age(since: string, now: Date = new Date()): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** `2025-03-01 14:05:09Z`: the ISO timestamp without the T and the milliseconds. */
export function timestamp(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Left-aligned columns, two spaces apart, a header line first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function prompt(job: JobView): string | undefined {
  const text = job.request?.content.find((item) => item.type === 'text');
  return text && 'text' in text ? text.text : undefined;
}

function requestLine(job: JobView): string | undefined {
  const request = job.request;
  if (!request) return undefined;
  const media = request.content.filter((item) => item.type !== 'text').map((item) => item.type.replace('_url', ''));
  return [
    request.model,
    request.resolution,
    request.ratio,
    request.duration === -1 ? 'model decides the length' : `${request.duration} s`,
    request.generate_audio ? 'audio' : 'no audio',
    ...(request.watermark ? ['watermark'] : []),
    ...(media.length > 0 ? [`media: ${media.join(', ')}`] : []),
  ].join(' · ');
}

/** `QUEUED, waiting (3 ahead)`, `RUNNING 50%`, `SUCCEEDED`. */
function statusLine(job: Pick<JobView, 'status' | 'progress' | 'waiting' | 'ahead'>): string {
  if (job.status === 'QUEUED' && job.waiting) return `QUEUED, waiting${job.ahead !== undefined ? ` (${job.ahead} ahead)` : ''}`;
  return job.status === 'SUBMITTED' || job.status === 'RUNNING' ? `${job.status} ${job.progress}%` : job.status;
}

/** `status <jobId>`: one field per line, only the ones that say something. */
export function jobSummary(job: JobView, now: Date = new Date()): string {
  const lines: [string, string | undefined][] = [
    ['Job', job.jobId],
    ['Status', statusLine(job)],
    ['Trigger', `${job.trigger.type} (${job.trigger.source})`],
    ['Prompt', prompt(job)],
    ['Request', requestLine(job)],
    ['Created', `${timestamp(job.createdAt)} (${age(job.createdAt, now)} ago)`],
    ['Priority', job.priority],
    ['In line since', job.waiting && job.queuedAt ? `${timestamp(job.queuedAt)} (${age(job.queuedAt, now)} ago)` : undefined],
    ['Submitted', job.submittedAt && timestamp(job.submittedAt)],
    ['Estimated finish', job.estimatedFinishAt && `${timestamp(job.estimatedFinishAt)} (${timeLeft(job.estimatedFinishAt, now.getTime())})`],
    ['Finished', job.finishedAt && timestamp(job.finishedAt)],
    ['Deadline', job.finishedAt ? undefined : timestamp(job.deadlineAt)],
    ['Provider', job.providerTaskId && `task ${job.providerTaskId}${job.polls !== undefined ? `, ${job.polls} polls` : ''}`],
    [
      'Metadata',
      job.metadata &&
        Object.entries(job.metadata)
          .map(([key, value]) => `${key}=${value}`)
          .join(', '),
    ],
    ['Warnings', job.warnings?.join('; ')],
    ['Output', job.output && `s3://${job.output.bucket}/${job.output.key} (${job.output.bytes} bytes, sha256 ${job.output.sha256})`],
    ['Error', job.error && `${job.error.code}: ${job.error.message}`],
    ...(job.error?.issues ?? []).map((issue): [string, string] => ['', `  ${issue.path}: ${issue.message}`]),
  ];
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  return lines
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([label, value]) => `${label.padEnd(width)}${value}`)
    .join('\n');
}

/** `list`: one row per job. */
export function jobTable(jobs: JobView[], now: Date = new Date()): string {
  return table(
    ['JOB ID', 'STATUS', 'PROGRESS', 'TRIGGER', 'CREATED', 'AGE'],
    jobs.map((job) => [
      job.jobId,
      job.waiting ? 'WAITING' : job.status,
      `${job.progress}%`,
      job.trigger.type,
      timestamp(job.createdAt),
      age(job.createdAt, now),
    ]),
  );
}

/** `about 1 min 20 s left`, from the job's estimate; empty when it has none. */
export function timeLeft(estimatedFinishAt: string | undefined, now: number = Date.now()): string {
  if (!estimatedFinishAt) return '';
  const left = Math.round((Date.parse(estimatedFinishAt) - now) / 1000);
  if (!Number.isFinite(left)) return '';
  if (left <= 0) return 'due now';
  const minutes = Math.floor(left / 60);
  return `about ${minutes > 0 ? `${minutes} min ` : ''}${left % 60} s left`;
}
