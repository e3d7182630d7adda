/** Sends the hostile cases planned in hostile-cases.ts, and puts up what the bad-media ones need in the bucket first. */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { uploadJobId } from '../../runtime/triggers/upload-intake.js';
import { solidPng } from '../png.js';
import { PLANTED_PNG_KEY, TEXT_PNG_KEY, type BadMediaCase, type OverwriteCase, type PooledCase } from './hostile-cases.js';

export interface HostileContext {
  apiUrl: string;
  s3: S3Client;
  bucket: string;
  random: () => number;
  /** The run's normal job body for a prompt, so hostile bodies differ from it only where they mean to. */
  jobBody: (prompt: string) => Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(apiUrl: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${apiUrl}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: { jobId?: string; error?: { code?: string; issues?: { path: string }[] } } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // judged by the status and the missing fields
  }
  return { status: response.status, jobId: json.jobId, code: json.error?.code, issues: json.error?.issues, text };
}

/** What the run needs in the bucket before the bad-media cases are sent. */
export async function prepareHostile(context: HostileContext): Promise<void> {
  await context.s3.send(
    new PutObjectCommand({ Bucket: context.bucket, Key: TEXT_PNG_KEY, Body: 'these are notes, not a picture\n', ContentType: 'image/png' }),
  );
  await context.s3.send(new PutObjectCommand({ Bucket: context.bucket, Key: PLANTED_PNG_KEY, Body: solidPng(16, 16), ContentType: 'image/png' }));
}

function withImage(context: HostileContext, prompt: string, url: string): Record<string, unknown> {
  const body = context.jobBody(prompt);
  const content = body.content as unknown[];
  return { ...body, content: [...content, { type: 'image_url', image_url: { url }, role: 'first_frame' }] };
}

function badMediaUrl(context: HostileContext, hostile: BadMediaCase): string {
  const bucket = `s3://${context.bucket}/`;
  switch (hostile.variant) {
    case 'missing key':
      return `${bucket}media/chaos-hostile/missing-${hostile.n}.png`;
    case '../ path':
      return `${bucket}media/../${PLANTED_PNG_KEY}`;
    case 'requests/ object':
      return `${bucket}${PLANTED_PNG_KEY}`;
    case 'text file named .png':
      return `${bucket}${TEXT_PNG_KEY}`;
  }
}

async function putSpec(context: HostileContext, key: string, body: string): Promise<{ etag: string; jobId: string }> {
  const answer = await context.s3.send(new PutObjectCommand({ Bucket: context.bucket, Key: key, Body: body, ContentType: 'application/json' }));
  const etag = answer.ETag!.replaceAll('"', '');
  return { etag, jobId: uploadJobId({ bucket: context.bucket, key, etag }) };
}

/** A spec of exactly `bytes` bytes: the text prompt and a `data:` PNG padded to the size. */
function oversizedSpec(context: HostileContext, prompt: string, bytes: number): string {
  const around = JSON.stringify(withImage(context, prompt, 'data:image/png;base64,')).length;
  const room = bytes - around;
  const dataBytes = Math.floor(room / 4) * 3;
  const png = solidPng(8, 8);
  const data = Buffer.concat([png, Buffer.alloc(Math.max(0, dataBytes - png.length))]).toString('base64');
  const spec = JSON.stringify(withImage(context, prompt, `data:image/png;base64,${data}`));
  // JSON allows whitespace after the value: it makes up the last few bytes.
  return spec + ' '.repeat(Math.max(0, bytes - spec.length));
}

export async function submitHostile(hostile: PooledCase, context: HostileContext): Promise<void> {
  try {
    switch (hostile.kind) {
      case 'same-key': {
        // All in flight at once, 0-20 ms apart: the race the idempotency record must settle.
        hostile.answers = await Promise.all(
          hostile.prompts.map(async (prompt) => {
            await sleep(Math.floor(context.random() * 20));
            const answer = await post(context.apiUrl, context.jobBody(prompt), { 'idempotency-key': hostile.key });
            return { prompt, status: answer.status, ...(answer.jobId ? { jobId: answer.jobId } : {}), ...(answer.code ? { code: answer.code } : {}) };
          }),
        );
        return;
      }
      case 'overwrite': {
        const put = async (version: OverwriteCase['versions'][number]) => {
          const { etag, jobId } = await putSpec(context, hostile.key, JSON.stringify(context.jobBody(version.prompt)));
          version.etag = etag;
          version.jobId = jobId;
        };
        if (hostile.concurrent) {
          await Promise.all(hostile.versions.map(async (version) => (await sleep(Math.floor(context.random() * 10)), put(version))));
        } else {
          for (const version of hostile.versions) {
            await put(version);
            await sleep(Math.floor(context.random() * 20));
          }
        }
        return;
      }
      case 'oversized': {
        hostile.jobId = (await putSpec(context, hostile.key, oversizedSpec(context, hostile.prompt, hostile.bytes))).jobId;
        return;
      }
      case 'bad-media': {
        hostile.url = badMediaUrl(context, hostile);
        const body = withImage(context, hostile.prompt, hostile.url);
        if (hostile.via === 'post') {
          const answer = await post(context.apiUrl, body);
          hostile.answer = { status: answer.status, ...(answer.code ? { code: answer.code } : {}), ...(answer.issues ? { issues: answer.issues } : {}) };
        } else {
          hostile.key = `incoming/chaos-hostile/bad-media-${hostile.n}.json`;
          hostile.jobId = (await putSpec(context, hostile.key, JSON.stringify(body))).jobId;
        }
        return;
      }
    }
  } catch (error) {
    hostile.problem = `${hostile.kind} submission threw: ${(error as Error).message}`;
  }
}
