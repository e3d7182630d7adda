import { Duration } from 'aws-cdk-lib';
import { z } from 'zod';
import { MAX_JOB_DEADLINE_MINUTES, MAX_LATE_FOLLOW_MINUTES } from './constructs/generation-workflow.js';
import type { PipelineConfig } from './stack.js';

const scheduleExpression = z
  .string()
  .regex(/^(rate|cron)\(.+\)$/, 'must be an EventBridge schedule expression: rate(...) or cron(...)');

/** CDK context values, checked once; constructs only ever see the typed result. */
const contextSchema = z.object({
  providerBaseUrl: z.url().default('https://www.anyfast.ai'),
  providerModels: z.array(z.string().min(1)).min(1).default(['seedance-fast']),
  providerApiKeySecretName: z.string().min(1).default('video-pipeline/provider-api-key'),
  jobDeadlineMinutes: z.coerce.number().int().min(1).max(MAX_JOB_DEADLINE_MINUTES).default(30),
  batchSchedule: scheduleExpression.default('rate(15 minutes)'),
  maxJobsInFlight: z.coerce.number().int().min(1).max(1000).default(20),
  maxQueueHours: z.coerce.number().positive().max(24 * 14).default(24),
  lateFollowMinutes: z.coerce.number().int().min(1).max(MAX_LATE_FOLLOW_MINUTES).default(60),
  queueAgeAlarmMinutes: z.coerce.number().int().min(1).max(24 * 60 * 14).default(60),
  sweepSchedule: scheduleExpression.default('rate(5 minutes)'),
  retainData: z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]).default(true),
});

export function pipelineConfigFrom(tryGetContext: (key: string) => unknown): PipelineConfig {
  const raw = Object.fromEntries(Object.keys(contextSchema.shape).map((key) => [key, tryGetContext(key)]));
  const context = contextSchema.parse(Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)));
  return {
    providerBaseUrl: context.providerBaseUrl,
    providerModels: context.providerModels,
    providerApiKeySecretName: context.providerApiKeySecretName,
    jobDeadline: Duration.minutes(context.jobDeadlineMinutes),
    retainData: context.retainData,
    batchSchedule: context.batchSchedule,
    maxJobsInFlight: context.maxJobsInFlight,
    maxQueue: Duration.seconds(Math.round(context.maxQueueHours * 3600)),
    lateFollow: Duration.minutes(context.lateFollowMinutes),
    queueAgeAlarm: Duration.minutes(context.queueAgeAlarmMinutes),
    sweepSchedule: context.sweepSchedule,
  };
}
