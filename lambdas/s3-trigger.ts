import { Logger } from '@aws-lambda-powertools/logger';
import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { intakeFromEnv } from './core/intake-deps.js';
import { handleUpload, type UploadDeps, type UploadOutcome } from './core/upload-intake.js';

const logger = new Logger({ serviceName: 'video-pipeline-upload-trigger' });
const { env, s3, deps: intakeDeps } = intakeFromEnv('video-pipeline-upload-trigger');
const deps: UploadDeps = { ...intakeDeps, s3, bucket: env.VIDEO_BUCKET, defaultModel: env.PROVIDER_MODELS[0]! };

/** S3 → EventBridge "Object Created" under incoming/: a spec or a prompted image becomes a job. */
export async function handler(event: unknown): Promise<UploadOutcome> {
  const { detail } = S3EventNotificationEventBridgeSchema.parse(event);
  const object = {
    bucket: detail.bucket.name,
    key: detail.object.key,
    ...(detail.object.etag ? { etag: detail.object.etag } : {}),
    ...(detail.object['version-id'] ? { versionId: detail.object['version-id'] } : {}),
  };
  const outcome = await handleUpload(object, deps);
  logger.info('upload handled', { key: object.key, ...outcome });
  return outcome;
}
