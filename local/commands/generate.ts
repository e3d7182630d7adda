import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CdkContextError, cdkContext } from '../stack/cdk-context.js';
import { findRunningStack } from '../stack/find-stack.js';
import { GenerateUsageError, generateRequestFromArgs, GENERATE_USAGE } from './generate-request.js';
import { startLocalStack } from '../stack/local-stack.js';
import { localSettings } from '../stack/local-settings.js';
import { assertPortFree, PortBusyError } from '../stack/port-check.js';
import { claimDataDir, DataDirBusyError, describeStack, StackNotRunningError } from '../stack/stack-file.js';

/** A job takes a few seconds at this scale (the provider's typical 1–5 minutes × 0.05). */
const GENERATE_TIME_SCALE = 0.05;
const WATCH_INTERVAL_MS = 250;

interface JobAnswer {
  jobId: string;
  status: string;
  progress?: number;
  downloadUrl?: string;
  output?: { bytes: number; sha256: string };
  error?: { code: string; message: string; issues?: { path: string; message: string }[] };
  warnings?: string[];
}

/** A refusal of the command itself: one line, and its exit code. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

interface Api {
  apiUrl: string;
  close(): Promise<void>;
}

/**
 * The stack `npm start` runs on this data directory (or finds by its port), else one of our own in
 * this process, on the data directory and for as long as the job takes. `-c` shapes only a stack of
 * our own: a running one keeps the context it was started with.
 */
async function stackToUse(contextAssignments: string[]): Promise<Api> {
  let context: Record<string, unknown>;
  try {
    context = cdkContext(contextAssignments);
  } catch (error) {
    if (error instanceof CdkContextError) throw new Refusal(error.message, 2);
    throw error;
  }
  const running = await findRunningStack().catch((error: unknown) => {
    if (error instanceof StackNotRunningError) return undefined;
    throw error;
  });
  if (running) {
    if (contextAssignments.length > 0) {
      throw new Refusal(`-c applies to a stack generate starts itself; ${describeStack(running)} runs already: pass -c to npm start instead`, 2);
    }
    console.log(`Using the local stack of ${describeStack(running)}`);
    return { apiUrl: running.apiUrl, close: async () => undefined };
  }
  const settings = localSettings({ timeScale: GENERATE_TIME_SCALE, port: 0 });
  const claim = await claimDataDir(settings.dataDir, 'npm run generate').catch((error: unknown) => {
    // Claimed by an npm start that is still starting.
    if (error instanceof DataDirBusyError) throw new Refusal(`npm run generate: ${error.message}`, 1);
    throw error;
  });
  try {
    await assertPortFree(settings.port, 'PORT');
    await assertPortFree(settings.s3Port, 'S3_PORT');
    const stack = await startLocalStack({ ...settings, context });
    await claim.ready({ apiUrl: stack.apiUrl, s3Url: stack.s3Url, bucket: stack.bucket, environment: stack.environment });
    return {
      apiUrl: stack.apiUrl,
      async close() {
        await claim.release();
        await stack.stop();
      },
    };
  } catch (error) {
    await claim.release();
    if (error instanceof PortBusyError) throw new Refusal(`npm run generate: ${error.message}`, 1);
    throw error;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(GENERATE_USAGE);
    return 0;
  }
  const { body, outDir, contextAssignments } = await generateRequestFromArgs(args);
  const started = Date.now();
  const stack = await stackToUse(contextAssignments);
  try {
    const submitted = await fetch(`${stack.apiUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await submitted.json()) as JobAnswer & { links?: { self: string } };
    if (submitted.status !== 202 || !answer.links) {
      console.error(`The job was refused (HTTP ${submitted.status}): ${answer.error?.message ?? JSON.stringify(answer)}`);
      for (const issue of answer.error?.issues ?? []) console.error(`  ${issue.path}: ${issue.message}`);
      return 2;
    }
    console.log(`Job ${answer.jobId} accepted (${submitted.headers.get('location')})`);
    for (const warning of answer.warnings ?? []) console.log(`  warning: ${warning}`);
    let last = '';
    for (;;) {
      const job = (await (await fetch(answer.links.self)).json()) as JobAnswer;
      const line = `${job.status}${job.status === 'RUNNING' || job.status === 'SUBMITTED' ? ` ${job.progress ?? 0}%` : ''}`;
      if (line !== last) console.log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${line}`);
      last = line;
      if (job.status === 'SUCCEEDED' && job.downloadUrl) {
        const video = await fetch(job.downloadUrl);
        if (!video.ok) throw new Error(`download failed: HTTP ${video.status}`);
        const file = resolve(join(outDir, `${job.jobId}.mp4`));
        await mkdir(resolve(outDir), { recursive: true });
        await writeFile(file, Buffer.from(await video.arrayBuffer()));
        console.log(`Video (${job.output?.bytes} bytes, sha256 ${job.output?.sha256}) written to ${file}`);
        return 0;
      }
      if (['FAILED', 'TIMED_OUT', 'CANCELLED'].includes(job.status)) {
        console.error(`The job ended ${job.status}: ${job.error?.code}: ${job.error?.message}`);
        return 1;
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, WATCH_INTERVAL_MS));
    }
  } finally {
    await stack.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof GenerateUsageError) {
      console.error(error.message);
      process.exit(2);
    }
    if (error instanceof Refusal) {
      console.error(error.message);
      process.exit(error.code);
    }
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
