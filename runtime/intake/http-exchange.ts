import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import type { JobOutput } from '../domain/job.js';
import type { createProviderRequestSchema } from '../domain/request-schema.js';
import type { WorkflowExecutions } from '../aws/workflow-executions.js';
import type { MultiValues } from './intake-query.js';
import type { IntakeDeps } from './job-intake.js';

/** One HTTP request of the API, as the intake's routes (ours and the provider's) read it. */
export interface HttpRequest {
  method: string;
  /** The path below the API's base, e.g. `/jobs/123`, percent-encoded as sent (API Gateway REST does not decode it). */
  path: string;
  /** Header names in lower case, each with every value it was sent with. */
  headers: MultiValues;
  /** Each query parameter, decoded, with every value it was given. */
  query: MultiValues;
  /** Text, or the bytes when the gateway passed them base64-encoded. */
  body: string | Uint8Array | undefined;
  /** Where the API is reached from outside, e.g. `https://abc.execute-api.../prod`; links are built on it. */
  baseUrl: string;
  /** Who called: the IAM principal on AWS, `token:<id>` for an API token, else the source address. Recorded as the job's trigger source. */
  caller: string;
  /** The API token the drop-in API's authorizer accepted (its id); absent for SigV4 and the local open routes. */
  tokenId?: string;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface IntakeRouteDeps extends IntakeDeps {
  /** The provider's request contract, for its own routes (runtime/intake/provider-routes.ts); the simulator checks it too. */
  providerSchema: ReturnType<typeof createProviderRequestSchema>;
  workflow: WorkflowExecutions;
  maxBodyBytes: number;
  downloadUrlFor: (output: JobOutput) => Promise<string>;
  onUnexpectedError: (error: unknown) => void;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * An Idempotency-Key names one request of one caller: the job id derives from both, so a retried
 * POST finds the job its first attempt made, whichever instance answers it.
 */
export function idempotentJobId(caller: string, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationError([{ path: 'headers.idempotency-key', message: 'must be 1 to 128 visible ASCII characters' }]);
  }
  return `idem-${createHash('sha256').update(`${caller}\n${key}`).digest('hex').slice(0, 40)}`;
}
