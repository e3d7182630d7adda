import { randomUUID } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { createDocumentClient, createS3Client } from './core/aws-clients.js';
import { booleanFlag, readEnv } from './core/env.js';
import { handleIntakeRequest, type IntakeRouteDeps } from './core/intake-routes.js';
import { createJobRepository } from './core/job-repository.js';
import { createRequestStore } from './core/request-store.js';
import { createJobRequestSchema, MAX_BODY_BYTES } from './core/request-schema.js';
import { createWorkflowStarter } from './core/workflow-starter.js';

const env = readEnv(
  z.object({
    JOBS_TABLE: z.string().min(1),
    VIDEO_BUCKET: z.string().min(1),
    STATE_MACHINE_ARN: z.string().min(1),
    JOB_DEADLINE_SECONDS: z.coerce.number().int().positive(),
    PROVIDER_MODELS: z.string().min(1).transform((value) => value.split(',').map((model) => model.trim())),
    DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
    S3_FORCE_PATH_STYLE: booleanFlag,
  }),
);

const logger = new Logger({ serviceName: 'video-pipeline-intake' });
const s3 = createS3Client(env.S3_FORCE_PATH_STYLE);
const deps: IntakeRouteDeps = {
  jobs: createJobRepository(createDocumentClient(), env.JOBS_TABLE),
  requests: createRequestStore(s3, env.VIDEO_BUCKET),
  workflow: createWorkflowStarter(new SFNClient({}), env.STATE_MACHINE_ARN),
  schema: createJobRequestSchema({ models: env.PROVIDER_MODELS, mediaBucket: env.VIDEO_BUCKET }),
  deadlineSeconds: env.JOB_DEADLINE_SECONDS,
  maxBodyBytes: MAX_BODY_BYTES,
  now: () => new Date(),
  newJobId: randomUUID,
  downloadUrlFor: (output) =>
    getSignedUrl(s3, new GetObjectCommand({ Bucket: output.bucket, Key: output.key }), {
      expiresIn: env.DOWNLOAD_URL_TTL_SECONDS,
    }),
  onUnexpectedError: (error) => logger.error('unexpected error', error as Error),
};

function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers']): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
}

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const headers = lowerCaseHeaders(event.headers);
  const protocol = headers['x-forwarded-proto'] ?? 'https';
  const stage = event.requestContext?.stage && event.requestContext.stage !== '$default' ? `/${event.requestContext.stage}` : '';
  const body = event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? undefined);
  const response = await handleIntakeRequest(
    {
      method: event.httpMethod,
      path: event.path,
      headers,
      body,
      baseUrl: `${protocol}://${headers.host}${stage}`,
      caller: event.requestContext?.identity?.userArn ?? event.requestContext?.identity?.sourceIp ?? 'unknown',
    },
    deps,
  );
  logger.info('request', { method: event.httpMethod, path: event.path, statusCode: response.statusCode });
  return response;
}
