import { serveConsoleAsset, SECURITY_HEADERS } from '../../console/serve.js';
import type { LocalRoute } from './http-api.js';

/** What the console's Stack panel shows: the local S3, ready to paste into the aws CLI. */
export const LOCAL_STACK_PATH = '/_local/stack';

export interface LocalS3Description {
  endpoint: string;
  bucket: string;
  region: string;
}

/**
 * The console at `/` of the local API, and `/_local/stack`. Only the local server has these routes:
 * the Lambda never sees them, so a deployed API neither serves the page nor tells its bucket this way.
 */
export function localConsoleRoute(s3: LocalS3Description): LocalRoute {
  const description = JSON.stringify({
    // s3rver accepts only these credentials (local/emulators/s3/), and only path-style addressing.
    s3: { ...s3, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true },
  });
  return async (method, path, response) => {
    if (path !== LOCAL_STACK_PATH) return serveConsoleAsset(method, path, response);
    const allowed = method === 'GET';
    response.writeHead(allowed ? 200 : 405, { 'content-type': 'application/json', ...SECURITY_HEADERS, ...(allowed ? {} : { allow: 'GET' }) });
    response.end(allowed ? description : JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed on ${LOCAL_STACK_PATH}; use GET` } }));
    return true;
  };
}
