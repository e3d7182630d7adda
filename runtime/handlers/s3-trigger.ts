import { Logger } from '@aws-lambda-powertools/logger';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import { intakeFromEnv } from '../compose/intake-deps.js';
import { handleUpload, uploadedObjectOf, type UploadDeps, type UploadOutcome } from '../triggers/upload-intake.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.uploadTrigger] });
const { env, s3, deps: intakeDeps } = intakeFromEnv(HANDLER.uploadTrigger);
const deps: UploadDeps = { ...intakeDeps, s3, bucket: env.VIDEO_BUCKET, defaultModel: env.PROVIDER_MODELS[0]! };

/** S3 → EventBridge "Object Created" under incoming/: a spec or a prompted image becomes a job. */
export async function handler(event: unknown): Promise<UploadOutcome> {
  const object = uploadedObjectOf(event);
  const outcome = await handleUpload(object, deps);
  logger.info('upload handled', { key: object.key, ...outcome });
  return outcome;
}
