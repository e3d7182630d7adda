import { expect, it } from 'vitest';
import { jobSummary, jobTable, timeLeft } from '../../cli/format.js';
import type { JobView } from '../../cli/job-view.js';

const NOW = new Date('2026-12-04T12:10:00Z');
const waiting: JobView = {
  jobId: 'job-1',
  status: 'QUEUED',
  progress: 0,
  request: {
    model: 'seedance-fast',
    content: [{ type: 'text', text: 'A lighthouse' }],
    generate_audio: true,
    resolution: '720p',
    ratio: 'adaptive',
    duration: 5,
    watermark: false,
  },
  trigger: { type: 'http', source: 'me' },
  priority: 'low',
  queuedAt: '2026-12-04T12:04:00.000Z',
  waiting: true,
  ahead: 7,
  createdAt: '2026-12-04T12:04:00.000Z',
  updatedAt: '2026-12-04T12:04:00.000Z',
  deadlineAt: '2026-12-05T12:34:00.000Z',
  links: { self: 'http://127.0.0.1:3000/jobs/job-1' },
};

it('status shows a waiting job as waiting, with its place in the line, its lane and since when', () => {
  const summary = jobSummary(waiting, NOW);
  expect(summary).toMatch(/^Status\s+QUEUED, waiting \(7 ahead\)$/m);
  expect(summary).toMatch(/^Priority\s+low$/m);
  expect(summary).toMatch(/^In line since\s+2026-12-04 12:04:00Z \(6m ago\)$/m);
  expect(jobSummary({ ...waiting, waiting: false, status: 'RUNNING', progress: 30 }, NOW)).toMatch(/^Status\s+RUNNING 30%$/m);
});

it('list shows a waiting job as WAITING', () => {
  expect(jobTable([waiting], NOW).split('\n')[1]).toMatch(/^job-1\s+WAITING\s+0%/);
  expect(jobTable([{ ...waiting, waiting: false }], NOW).split('\n')[1]).toMatch(/^job-1\s+QUEUED\s+0%/);
});

it('status shows when a running job will most likely be done, and how long that is from now', () => {
  const running: JobView = {
    ...waiting,
    waiting: false,
    status: 'RUNNING',
    progress: 30,
    submittedAt: '2026-12-04T12:08:00.000Z',
    estimatedFinishAt: '2026-12-04T12:11:25.000Z',
  };
  expect(jobSummary(running, NOW)).toMatch(/^Estimated finish\s+2026-12-04 12:11:25Z \(about 1 min 25 s left\)$/m);
  expect(jobSummary({ ...running, estimatedFinishAt: '2026-12-04T12:09:00.000Z' }, NOW)).toMatch(/^Estimated finish\s+.*\(due now\)$/m);
  expect(jobSummary(waiting, NOW)).not.toMatch(/Estimated finish/);
});

it('the progress lines of --wait say how long is left while the estimate is known', () => {
  expect(timeLeft('2026-12-04T12:10:42.000Z', NOW.getTime())).toBe('about 42 s left');
  expect(timeLeft(undefined, NOW.getTime())).toBe('');
});
