import { UsageError } from './errors.js';

const EXECUTE_API_HOST = /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * The region a deployed API is signed for: the one in its default hostname
 * (`<id>.execute-api.<region>.amazonaws.com`), else AWS_REGION / AWS_DEFAULT_REGION (a custom domain).
 */
export function regionOfApi(apiUrl: URL, env: NodeJS.ProcessEnv = process.env): string {
  const fromHost = EXECUTE_API_HOST.exec(apiUrl.hostname)?.[1];
  const region = fromHost ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new UsageError(`cannot tell the AWS region of ${apiUrl.origin} (not an *.execute-api.<region>.amazonaws.com host): set AWS_REGION`);
  }
  return region;
}
