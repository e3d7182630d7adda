import type { FieldIssue } from '../domain/errors.js';
import { VideoUnavailableError } from '../domain/errors.js';
import type { Resolve } from '../net/dns.js';
import { checkedAddresses } from '../net/url-guard.js';

export interface WebhookTargetOptions {
  /** The local switch (ALLOW_INSECURE_LOOPBACK_VIDEO_URLS): loopback receivers pass. */
  allowLoopback: boolean;
  resolve?: Resolve;
}

/**
 * The submission-time half of the webhook guard: every address the URL's host resolves to must be
 * public (the request schema already judged the URL as written). The same check runs again at
 * every connect of every delivery (runtime/net/guarded-post.ts), so a name that later resolves
 * elsewhere reaches nothing private either.
 */
export async function webhookTargetIssues(url: string, path: string, options: WebhookTargetOptions): Promise<FieldIssue[]> {
  const { hostname } = new URL(url);
  try {
    await checkedAddresses(hostname, {
      allowInsecureLoopback: options.allowLoopback,
      refusing: 'deliver a webhook to',
      ...(options.resolve ? { resolve: options.resolve } : {}),
    });
    return [];
  } catch (error) {
    if (error instanceof VideoUnavailableError) return [{ path, message: `must name a public address: ${error.message}` }];
    return [{ path, message: `${hostname} could not be resolved: ${(error as Error).message}` }];
  }
}
