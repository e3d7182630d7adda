/** The run's jobs as GET /jobs lists them, and how it reads them back. */

export interface ListedJob {
  jobId: string;
  status: string;
  progress: number;
  createdAt: string;
  deadlineAt: string;
  finishedAt?: string;
  providerTaskId?: string;
  polls?: number;
  resumes?: number;
  trigger: { type: string; source: string };
  request?: { content: { type: string; text?: string }[] };
  output?: { bucket: string; key: string; bytes: number; sha256: string };
  error?: { code: string; message: string; issues?: { path: string; message: string }[] };
  executionArn?: string;
}

export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

/** Every job GET /jobs lists, page after page. */
export async function listAll(apiUrl: string): Promise<ListedJob[]> {
  const jobs: ListedJob[] = [];
  let url: string | undefined = `${apiUrl}/jobs?limit=100`;
  while (url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { jobs: ListedJob[]; links?: { next?: string } };
    jobs.push(...page.jobs);
    url = page.links?.next;
  }
  return jobs;
}

export const promptOfJob = (job: ListedJob) => job.request?.content.find((item) => item.type === 'text')?.text;
