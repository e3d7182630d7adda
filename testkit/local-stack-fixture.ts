import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDenial } from '../local/stack/access/access-check.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../local/stack/local-stack.js';

export interface JobAnswer {
  jobId: string;
  status: string;
  progress: number;
  createdAt: string;
  request: { content: { type: string; image_url?: { url: string } }[] };
  providerTaskId?: string;
  submittedAt?: string;
  estimatedFinishAt?: string;
  deadlineAt: string;
  output?: { bucket: string; key: string; bytes: number; contentType: string; sha256: string };
  error?: { code: string; message: string };
  downloadUrl?: string;
  links: { self: string };
  warnings?: string[];
}

export interface StackFixture {
  stack: LocalStack;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * A local stack in a temp folder, as fast as the simulator allows. Every AWS call its functions and
 * state machine make is recorded, and closing it fails if their role in the template would deny one.
 */
/** The fixture's LOCAL_TIME_SCALE unless a suite asks for another: a 104 s generation takes about a second. */
export const FIXTURE_TIME_SCALE = 0.01;

export async function startStackFixture(options: Partial<LocalStackOptions> = {}): Promise<StackFixture> {
  // Handlers log failures the tests provoke on purpose; POWERTOOLS_LOG_LEVEL=INFO shows them.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-'));
  const stack = await startLocalStack({ dataDir, timeScale: FIXTURE_TIME_SCALE, port: 0, checkAccess: true, ...options });
  return {
    stack,
    dataDir,
    async close() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
      const denials = (await stack.access?.denials()) ?? [];
      if (denials.length > 0)
        throw new Error(`AWS calls the stack's roles would deny (a grant is missing in infra/):\n${denials.map(describeDenial).join('\n')}`);
    },
  };
}

export async function postJob(apiUrl: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${apiUrl}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { response, json: (await response.json()) as Record<string, unknown> & JobAnswer };
}

export async function getJob(apiUrl: string, jobId: string): Promise<JobAnswer> {
  const response = await fetch(`${apiUrl}/jobs/${jobId}`);
  if (!response.ok) throw new Error(`GET /jobs/${jobId}: HTTP ${response.status}`);
  return (await response.json()) as JobAnswer;
}
