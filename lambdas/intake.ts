import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { positiveIntegerSetting, readEnv } from './core/env.js';
import { intakeFromEnv } from './core/intake-deps.js';
import { handleIntakeRequest, type IntakeRouteDeps } from './core/intake-routes.js';
import { MAX_BODY_BYTES } from './core/request-schema.js';
import * as z from './core/zod.js';

const { DOWNLOAD_URL_TTL_SECONDS } = readEnv(
  z.object({ DOWNLOAD_URL_TTL_SECONDS: z._default(positiveIntegerSetting, 3600) }),
);
const logger = new Logger({ serviceName: 'video-pipeline-intake' });
const { s3, deps: intakeDeps } = intakeFromEnv('video-pipeline-intake');
const deps: IntakeRouteDeps = {
  ...intakeDeps,
  maxBodyBytes: MAX_BODY_BYTES,
  downloadUrlFor: (output) =>
    getSignedUrl(s3, new GetObjectCommand({ Bucket: output.bucket, Key: output.key }), { expiresIn: DOWNLOAD_URL_TTL_SECONDS }),
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
      query: { ...event.queryStringParameters },
      body,
      baseUrl: `${protocol}://${headers.host}${stage}`,
      caller: event.requestContext?.identity?.userArn ?? event.requestContext?.identity?.sourceIp ?? 'unknown',
    },
    deps,
  );
  logger.info('request', { method: event.httpMethod, path: event.path, statusCode: response.statusCode });
  return response;
}
