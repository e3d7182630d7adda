import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { FunctionEnvironment, JobIntakeEnvironment } from '../../contracts/environment.js';
import type { JobIntakeHandler } from '../../contracts/handlers.js';
import { DIMENSION, METRIC, SERVICE_NAMES } from '../../contracts/telemetry.js';
import { createDocumentClient, createS3Client } from './aws-clients.js';
import { functionEnv } from './env.js';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createSlots } from '../admission/admission-slots.js';
import { createJobAnnouncer } from '../aws/job-announcer.js';
import { createMetrics } from '../aws/metrics.js';
import type { IntakeDeps } from '../intake/job-intake.js';
import { createJobRepository } from '../aws/job-repository.js';
import { createRequestStore } from '../aws/request-store.js';
import { createS3MediaReader } from '../aws/stored-media.js';
import { createJobRequestSchema } from '../domain/request-schema.js';
import { createWorkflowExecutions, type WorkflowExecutions } from '../aws/workflow-executions.js';
import { DEFAULT_WEBHOOK_EVENTS } from '../../contracts/webhooks.js';

/** Built once per cold start from the environment. */
export function intakeFromEnv<H extends JobIntakeHandler>(
  handler: H,
): { env: FunctionEnvironment<H>; s3: S3Client; deps: IntakeDeps & { workflow: WorkflowExecutions } } {
  const functionSettings = functionEnv(handler);
  const env: JobIntakeEnvironment = functionSettings;
  const serviceName = SERVICE_NAMES[handler];
  const metrics = createMetrics(serviceName);
  const logger = new Logger({ serviceName });
  const s3 = createS3Client(env.S3_FORCE_PATH_STYLE);
  const documents = createDocumentClient();
  return {
    env: functionSettings,
    s3,
    deps: {
      jobs: createJobRepository(documents, env.JOBS_TABLE),
      slots: createSlots(documents, env.ADMISSION_TABLE, env.MAX_JOBS_IN_FLIGHT),
      requests: createRequestStore(s3, env.VIDEO_BUCKET),
      workflow: createWorkflowExecutions(new SFNClient({}), env.STATE_MACHINE_ARN),
      announcer: createJobAnnouncer(new EventBridgeClient({}), env.EVENT_BUS_NAME),
      schema: createJobRequestSchema({
        models: env.PROVIDER_MODELS,
        mediaBucket: env.VIDEO_BUCKET,
        allowLoopbackWebhooks: env.ALLOW_INSECURE_LOOPBACK_VIDEO_URLS,
      }),
      webhooks: {
        allowLoopback: env.ALLOW_INSECURE_LOOPBACK_VIDEO_URLS,
        ...(env.WEBHOOK_URL ? { default: { url: env.WEBHOOK_URL, events: env.WEBHOOK_EVENTS ?? [...DEFAULT_WEBHOOK_EVENTS] } } : {}),
      },
      readMedia: createS3MediaReader(s3),
      deadlineSeconds: env.JOB_DEADLINE_SECONDS,
      maxQueueSeconds: env.MAX_QUEUE_SECONDS,
      now: () => new Date(),
      newJobId: randomUUID,
      onStarted: (job) => {
        const started = metrics.singleMetric();
        started.addDimension(DIMENSION.trigger, job.trigger.type);
        started.addMetric(METRIC.JobsStarted, MetricUnit.Count, 1);
      },
      onDispatchError: (error) => logger.error('dispatch after a new job failed; it waits in the line for the next one', error as Error),
    },
  };
}
