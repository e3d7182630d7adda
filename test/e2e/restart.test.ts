import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { getJob, postJob } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';
import { startStackProcess, type StackProcess } from '../../testkit/stack-process.js';

/** `npm start` stopped and started again with jobs in flight: none is left non-terminal. */

let dataDir: string | undefined;
let running: StackProcess | undefined;

afterAll(async () => {
  await running?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('jobs in flight when npm start stops are resumed on the same provider tasks when it starts again', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-restart-'));
  // Slow enough (a task takes several seconds) that the jobs are mid-flight at the stop.
  const env = { PORT: '0', LOCAL_DATA_DIR: dataDir, LOCAL_TIME_SCALE: '0.05' };
  running = await startStackProcess(env);
  const prompts = Array.from({ length: 4 }, (_, index) => `Restart survivor ${index + 1}`);
  const jobIds: string[] = [];
  for (const text of prompts) {
    const { json } = await postJob(running.apiUrl, { model: 'seedance-fast', content: [{ type: 'text', text }], duration: 4 });
    jobIds.push(json.jobId);
  }
  // Every job has reached the provider (SUBMITTED or RUNNING), none has finished.
  await vi.waitFor(
    async () => {
      const statuses = await Promise.all(jobIds.map(async (jobId) => (await getJob(running!.apiUrl, jobId)).status));
      if (!statuses.every((status) => status === 'SUBMITTED' || status === 'RUNNING'))
        throw new Error(`jobs did not reach the provider: ${statuses.join(', ')}`);
    },
    { timeout: 10_000, interval: 20 },
  );
  expect(await running.stop()).toBe(0);

  running = await startStackProcess(env);
  // The line follows "API ready" on the same stdout; the pipe may hand it over a moment later.
  await expect.poll(() => running!.output(), { timeout: 2_000, interval: 20 }).toMatch(/Recovered jobs/);
  expect(running.output()).toMatch(/Recovered jobs left in flight: 4 resumed, 0 started, 0 ended/);
  for (const jobId of jobIds) {
    const { job } = await waitForJob(running.apiUrl, jobId, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    expect((job as unknown as { resumes: number }).resumes).toBe(1);
  }
  // Resumed, not resubmitted: still one provider task per job (the simulator keeps its tasks on disk).
  const saved = JSON.parse(await readFile(join(dataDir, 'simulator', 'tasks.json'), 'utf8')) as {
    tasks: { request: { content: { text?: string }[] } }[];
  };
  for (const text of prompts) {
    expect(
      saved.tasks.filter((task) => task.request.content[0]?.text === text),
      text,
    ).toHaveLength(1);
  }
}, 120_000);
