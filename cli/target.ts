import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { findRunningStack } from '../local/stack/find-stack.js';
import { describeStack, StackNotRunningError, type RunningStack } from '../local/stack/stack-file.js';
import { createTokenRepository, type TokenRepository } from '../runtime/aws/token-repository.js';
import { isLoopbackHost } from '../runtime/net/loopback.js';
import { ApiClient } from './api-client.js';
import { UnreachableError, UsageError } from './errors.js';
import type { MediaStore } from './media.js';
import { regionOfApi } from './region.js';
import { createSigner, defaultCredentials } from './sigv4.js';

/** Where the commands go: the running local stack, or a deployed API. */
export interface Target {
  api: ApiClient;
  /** How often `--wait` asks for the job's status. */
  pollIntervalMs: number;
  /** The bucket local media files are uploaded to, with a client for it; undefined when none is known. */
  mediaStore(): MediaStore | undefined;
}

export interface TargetOptions {
  /** `--api`, else VIDEO_PIPELINE_API. */
  api?: string | undefined;
  /** `--bucket`, else VIDEO_PIPELINE_BUCKET (deployed API only: the local stack names its bucket). */
  bucket?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export const NO_STACK_MESSAGE = 'no local stack is running: start one with `npm start`, or pass --api <url>';

/** One S3 client per run, made only when a local file has to be uploaded. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** The local stack's s3rver: fixed credentials, path-style addressing. */
function localS3(stack: RunningStack): S3Client {
  return new S3Client({
    endpoint: stack.s3Url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

/** The stack npm start runs: on LOCAL_DATA_DIR, or on PORT when LOCAL_DATA_DIR is not set (local/stack/find-stack.ts). */
async function localTarget(env: NodeJS.ProcessEnv): Promise<Target> {
  let stack: RunningStack;
  try {
    stack = await findRunningStack(env);
  } catch (error) {
    if (error instanceof StackNotRunningError) throw new UnreachableError(`${NO_STACK_MESSAGE}\n(${error.message})`, { cause: error });
    throw error;
  }
  return {
    api: new ApiClient({
      apiUrl: stack.apiUrl,
      unreachableHint: `the local stack of ${describeStack(stack)} does not answer: start it again with \`npm start\``,
    }),
    pollIntervalMs: 250,
    mediaStore: once(() => ({ bucket: stack.bucket, s3: localS3(stack), endpoint: stack.s3Url })),
  };
}

function parseApiUrl(apiUrl: string): URL {
  try {
    return new URL(apiUrl);
  } catch {
    throw new UsageError(`--api ${apiUrl}: not a URL (e.g. https://<id>.execute-api.<region>.amazonaws.com/v1)`);
  }
}

/**
 * A loopback http URL is a local stack (it has no IAM to sign for): the one of stack.json when the URLs
 * match, so local files can still be uploaded to its bucket; else the API alone.
 */
async function loopbackTarget(url: URL, env: NodeJS.ProcessEnv): Promise<Target> {
  const local = await localTarget(env).catch(() => undefined);
  if (local && new URL(local.api.apiUrl).origin === url.origin) return local;
  return { api: new ApiClient({ apiUrl: url.href }), pollIntervalMs: 250, mediaStore: () => undefined };
}

function awsTarget(url: URL, bucket: string | undefined, env: NodeJS.ProcessEnv): Target {
  const apiUrl = url.href;
  const region = regionOfApi(url, env);
  const credentials = defaultCredentials();
  return {
    api: new ApiClient({ apiUrl, sign: createSigner({ region, credentials }) }),
    pollIntervalMs: 2000,
    mediaStore: once(() =>
      bucket ? { bucket, s3: new S3Client({ region, credentials, followRegionRedirects: true }), endpoint: `S3 in ${region}` } : undefined,
    ),
  };
}

/** Which stack the options name: the local one (no --api, or a loopback http one), or a deployed API. */
export function targetKind(options: TargetOptions): { kind: 'local'; url?: URL } | { kind: 'aws'; url: URL } {
  const env = options.env ?? process.env;
  const apiUrl = options.api ?? env.VIDEO_PIPELINE_API;
  if (!apiUrl) return { kind: 'local' };
  const url = parseApiUrl(apiUrl);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname) ? { kind: 'local', url } : { kind: 'aws', url };
}

export async function resolveTarget(options: TargetOptions): Promise<Target> {
  const env = options.env ?? process.env;
  const bucket = options.bucket ?? env.VIDEO_PIPELINE_BUCKET;
  const target = targetKind(options);
  if (target.kind === 'aws') return awsTarget(target.url, bucket, env);
  return target.url ? loopbackTarget(target.url, env) : localTarget(env);
}

/** Where `token` commands keep the operator's API tokens: the local stack's Tokens table, or a deployed one. */
export interface TokenTarget {
  tokens: TokenRepository;
  /** Said in messages: which table. */
  where: string;
}

export interface TokenTargetOptions {
  /** `--table`, else VIDEO_PIPELINE_TOKENS_TABLE: the deployed stack's TokensTableName output. */
  table?: string | undefined;
  /** `--region`, else AWS_REGION / AWS_DEFAULT_REGION (deployed table only). */
  region?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * A table name means a deployed stack: the operator's own AWS credentials reach DynamoDB directly
 * (no function of the stack may write tokens, docs/security.md). Without one, the running local
 * stack's table on its DynamoDB, found as every local command finds the stack.
 */
export async function resolveTokenTarget(options: TokenTargetOptions): Promise<TokenTarget> {
  const env = options.env ?? process.env;
  const table = options.table ?? env.VIDEO_PIPELINE_TOKENS_TABLE;
  if (table) {
    const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError(`cannot tell the AWS region of table ${table}: pass --region or set AWS_REGION`);
    const client = new DynamoDBClient({ region, credentials: defaultCredentials() });
    return { tokens: createTokenRepository(DynamoDBDocumentClient.from(client), table), where: `table ${table} in ${region}` };
  }
  let stack: RunningStack;
  try {
    stack = await findRunningStack(env);
  } catch (error) {
    if (error instanceof StackNotRunningError) {
      throw new UnreachableError(`no local stack is running: start one with \`npm start\`, or pass --table <TokensTableName>\n(${error.message})`, {
        cause: error,
      });
    }
    throw error;
  }
  const { AWS_ENDPOINT_URL_DYNAMODB: endpoint, TOKENS_TABLE: localTable } = stack.environment;
  if (!endpoint || !localTable) throw new UnreachableError(`the local stack of ${describeStack(stack)} has no Tokens table: restart it with \`npm start\``);
  // dynalite takes any credentials.
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { tokens: createTokenRepository(DynamoDBDocumentClient.from(client), localTable), where: 'the local stack' };
}
