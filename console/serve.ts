import type { ServerResponse } from 'node:http';
import { consoleAssets } from './build.js';

/**
 * What the page may load: its own scripts and styles, API calls to its own origin only, and the video
 * and images from wherever their presigned URLs point (the local S3 on another loopback port, or S3
 * over https). No frame may embed it: a framed console could be clicked through by the framing site.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  'img-src data: blob: https: http://127.0.0.1:* http://localhost:*',
  'media-src https: http://127.0.0.1:* http://localhost:*',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** True for the paths the console's page is served at. */
function isConsolePath(path: string): boolean {
  return path === '/' || path.startsWith('/_console/');
}

/** Answers GET/HEAD of the page and its assets; false when the path is not one of them. */
export async function serveConsoleAsset(method: string, path: string, response: ServerResponse): Promise<boolean> {
  if (!isConsolePath(path)) return false;
  const asset = (await consoleAssets()).get(path);
  if (!asset) return false;
  if (method !== 'GET' && method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    response.end('the console page is read with GET\n');
    return true;
  }
  response.writeHead(200, { 'content-type': asset.contentType, 'content-length': String(asset.body.byteLength), ...SECURITY_HEADERS });
  response.end(method === 'HEAD' ? undefined : asset.body);
  return true;
}
