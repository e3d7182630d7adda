import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HANDLER } from '../../contracts/handlers.js';
import { createDocumentClient, createS3Client } from './aws-clients.js';
import { functionEnv } from './env.js';
import { createJobRepository } from '../aws/job-repository.js';
import { createWebhookAttemptLog } from '../aws/webhook-attempts.js';
import { presentJob } from '../intake/job-view.js';
import { guardedPost } from '../net/guarded-post.js';
import { secretApiKeyLoader } from '../provider/anyfast/provider-key.js';
import type { DeliveryDeps } from '../webhooks/delivery.js';
import { receiverSecret } from '../webhooks/signing.js';

/** The delivery function's dependencies, built once per cold start from its environment. */
export function webhookDeliveryFromEnv(): DeliveryDeps {
  const env = functionEnv(HANDLER.deliverWebhook);
  const documents = createDocumentClient();
  const s3 = createS3Client(env.S3_FORCE_PATH_STYLE);
  const storedSecret = secretApiKeyLoader(env.WEBHOOK_SECRET_ID);
  const jobsUrl = `${env.PUBLIC_API_URL.replace(/\/+$/, '')}/jobs`;
  return {
    jobs: createJobRepository(documents, env.JOBS_TABLE),
    attempts: createWebhookAttemptLog(documents, env.JOBS_TABLE),
    // What GET /jobs/{jobId} answers (runtime/intake/intake-routes.ts), with a fresh downloadUrl.
    view: async (job) => {
      const downloadUrl = job.output
        ? await getSignedUrl(s3, new GetObjectCommand({ Bucket: job.output.bucket, Key: job.output.key }), { expiresIn: env.DOWNLOAD_URL_TTL_SECONDS })
        : undefined;
      return presentJob(job, `${jobsUrl}/${encodeURIComponent(job.jobId)}`, downloadUrl ? { downloadUrl } : {});
    },
    secret: async () => receiverSecret(await storedSecret()),
    post: (url, body, headers) =>
      guardedPost(url, body, { headers, timeoutMs: env.WEBHOOK_TIMEOUT_MS, allowInsecureLoopback: env.ALLOW_INSECURE_LOOPBACK_VIDEO_URLS }),
    now: () => new Date(),
  };
}
