import { SignatureV4 } from '@smithy/signature-v4';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { UsageError } from './errors.js';
import { NodeSha256 } from './sha256.js';

/** One HTTP request before it is sent; header names in lower case. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialSource = AwsCredentials | (() => Promise<AwsCredentials>);

/** Adds SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`, `host`) to a request. */
export type RequestSigner = (request: OutgoingRequest) => Promise<OutgoingRequest>;

export interface SignerOptions {
  region: string;
  /** `execute-api` for API Gateway. */
  service?: string;
  credentials: CredentialSource;
  /** Fixed signing time, for tests; the current time otherwise. */
  now?: () => Date;
}

function query(url: URL): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const seen = params[name];
    params[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return params;
}

export function createSigner(options: SignerOptions): RequestSigner {
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: NodeSha256,
    // x-amz-content-sha256 is S3's header; API Gateway hashes the body into the canonical request.
    applyChecksum: false,
  });
  return async (request) => {
    const { url } = request;
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: query(url),
        // `host` as fetch will send it (with the port when it is not the default one).
        headers: { ...request.headers, host: url.host },
        ...(request.body !== undefined ? { body: request.body } : {}),
      },
      options.now ? { signingDate: options.now() } : {},
    );
    return { ...request, headers: signed.headers };
  };
}

/** Credentials as the AWS CLI finds them: env, SSO, profiles, web identity, container, instance role. */
export function defaultCredentials(): () => Promise<AwsCredentials> {
  const chain = fromNodeProviderChain();
  return async () => {
    try {
      return await chain();
    } catch (error) {
      throw new UsageError(
        `no AWS credentials to sign the request with (${(error as Error).message}); ` +
          'configure them as for the AWS CLI (AWS_PROFILE, aws sso login, AWS_ACCESS_KEY_ID…)',
        { cause: error },
      );
    }
  };
}
