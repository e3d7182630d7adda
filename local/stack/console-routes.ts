import { serveConsoleAsset, SECURITY_HEADERS } from '../../console/serve.js';
import type { LocalRoute } from './http-api.js';

/** What the console's Stack panel shows (the local S3, ready to paste), and what finds the stack by its port. */
export const LOCAL_STACK_PATH = '/_local/stack';

export interface LocalS3Description {
  endpoint: string;
  bucket: string;
  region: string;
}

/** Which stack this is: local/stack/find-stack.ts reads its stack.json from the data directory. */
export interface LocalStackIdentity {
  pid: number;
  dataDir: string;
  checkout: string;
}

/** The answer of GET /_local/stack. */
export interface LocalStackDescription {
  s3: LocalS3Description & { accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean };
  stack: LocalStackIdentity;
}

/**
 * The console at `/` of the local API, and `/_local/stack`. Only the local server has these routes:
 * the Lambda never sees them, so a deployed API neither serves the page nor tells its bucket this way.
 */
export function localConsoleRoute(s3: LocalS3Description, stack: LocalStackIdentity): LocalRoute {
  const description = JSON.stringify({
    // s3rver accepts only these credentials (local/emulators/s3/), and only path-style addressing.
    s3: { ...s3, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true },
    stack,
  } satisfies LocalStackDescription);
  return async (method, path, response) => {
    if (path !== LOCAL_STACK_PATH) return serveConsoleAsset(method, path, response);
    const allowed = method === 'GET';
    response.writeHead(allowed ? 200 : 405, { 'content-type': 'application/json', ...SECURITY_HEADERS, ...(allowed ? {} : { allow: 'GET' }) });
    response.end(
      allowed ? description : JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed on ${LOCAL_STACK_PATH}; use GET` } }),
    );
    return true;
  };
}
