import { Logger } from '@aws-lambda-powertools/logger';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import { createS3Client } from '../compose/aws-clients.js';
import { functionEnv } from '../compose/env.js';
import { storeVideo, type StoredVideo, type StoreVideoInput } from '../workflow/store-video.js';

const env = functionEnv(HANDLER.storeVideo);
const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.storeVideo] });
const s3 = createS3Client(env.S3_FORCE_PATH_STYLE);

export async function handler(input: StoreVideoInput): Promise<StoredVideo> {
  logger.appendKeys({ jobId: input.jobId });
  try {
    const stored = await storeVideo(input, {
      s3,
      bucket: env.VIDEO_BUCKET,
      now: () => new Date(),
      allowInsecureLoopback: env.ALLOW_INSECURE_LOOPBACK_VIDEO_URLS,
    });
    logger.info('video stored', { key: stored.key, bytes: stored.bytes, sha256: stored.sha256 });
    return stored;
  } catch (error) {
    logger.error('store failed', error as Error);
    throw error;
  } finally {
    logger.removeKeys(['jobId']);
  }
}
