import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@aws-lambda-powertools/logger';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { intakeFromEnv } from '../compose/intake-deps.js';
import type { IntakeRouteDeps } from '../intake/http-exchange.js';
import { handleIntakeRequest } from '../intake/intake-routes.js';
import { createProviderRequestSchema, MAX_BODY_BYTES } from '../domain/request-schema.js';
import { TOKEN_CONTEXT_KEY } from '../../contracts/drop-in.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.intake] });
const { env, s3, deps: intakeDeps } = intakeFromEnv(HANDLER.intake);
const deps: IntakeRouteDeps = {
  ...intakeDeps,
  providerSchema: createProviderRequestSchema({ models: env.PROVIDER_MODELS, mediaBucket: env.VIDEO_BUCKET }),
  maxBodyBytes: MAX_BODY_BYTES,
  downloadUrlFor: (output) => getSignedUrl(s3, new GetObjectCommand({ Bucket: output.bucket, Key: output.key }), { expiresIn: env.DOWNLOAD_URL_TTL_SECONDS }),
  onUnexpectedError: (error) => logger.error('unexpected error', error as Error),
};

/**
 * Every value of every header, names in lower case. API Gateway's `headers` holds one value per name;
 * `multiValueHeaders` holds them all, so a header sent twice is seen twice (and refused).
 */
function headerValues(event: APIGatewayProxyEvent): Record<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, sent] of Object.entries(event.multiValueHeaders ?? {})) {
    const key = name.toLowerCase();
    values.set(key, [...(values.get(key) ?? []), ...(sent ?? [])]);
  }
  // A Map, then own properties: a header named `__proto__` is a header like any other.
  return Object.fromEntries(values);
}

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const headers = headerValues(event);
  const protocol = headers['x-forwarded-proto']?.at(-1) ?? 'https';
  const stage = event.requestContext?.stage && event.requestContext.stage !== '$default' ? `/${event.requestContext.stage}` : '';
  // Set by the drop-in API's token authorizer (runtime/handlers/token-authorizer.ts): the token's id, never the token.
  const tokenId: unknown = event.requestContext?.authorizer?.[TOKEN_CONTEXT_KEY];
  const body = event.body === null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
  const response = await handleIntakeRequest(
    {
      method: event.httpMethod,
      path: event.path,
      headers,
      query: { ...event.multiValueQueryStringParameters },
      body,
      baseUrl: `${protocol}://${headers.host?.at(-1)}${stage}`,
      caller:
        typeof tokenId === 'string' ? `token:${tokenId}` : (event.requestContext?.identity?.userArn ?? event.requestContext?.identity?.sourceIp ?? 'unknown'),
      ...(typeof tokenId === 'string' ? { tokenId } : {}),
    },
    deps,
  );
  logger.info('request', { method: event.httpMethod, path: event.path, statusCode: response.statusCode });
  return response;
}
