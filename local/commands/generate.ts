import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CdkContextError, cdkContext } from '../stack/cdk-context.js';
import { generateRequestFromArgs } from './generate-request.js';
import { startLocalStack } from '../stack/local-stack.js';
import { localSettings } from '../stack/local-settings.js';

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

async function main(): Promise<number> {
  const { body, outDir, contextAssignments } = await generateRequestFromArgs(process.argv.slice(2));
  let context: Record<string, unknown>;
  try {
    context = cdkContext(contextAssignments);
  } catch (error) {
    if (!(error instanceof CdkContextError)) throw error;
    console.error(error.message);
    return 2;
  }
  const settings = localSettings({ timeScale: GENERATE_TIME_SCALE, port: 0 });
  const started = Date.now();
  const stack = await startLocalStack({ ...settings, port: 0, context });
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
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
