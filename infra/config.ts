import { Duration } from 'aws-cdk-lib';
import * as z from '../contracts/zod.js';
import { MAX_JOB_DEADLINE_MINUTES, MAX_LATE_FOLLOW_MINUTES } from './constructs/generation-workflow.js';
import type { PipelineConfig } from './stack.js';
import { DEFAULT_WEBHOOK_EVENTS, WEBHOOK_EVENTS } from '../contracts/webhooks.js';

/**
 * The stack's default webhook: https, or http to a loopback host (a local stack's receiver; on AWS
 * the delivery guard refuses loopback at connect). Its host's addresses are checked at each connect.
 */
const webhookUrl = z.url().check(
  z.refine((value) => value.startsWith('https://') || /^http:\/\/(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(\/|$)/.test(value), {
    message: 'must be an https:// URL (or http:// to a loopback host, for a local stack)',
  }),
);
/** A list in cdk.json, or `-c webhookEvents=started,completed` as text. */
const webhookEvents = z.pipe(
  z.union([
    z.array(z.string()),
    z.pipe(
      z.string(),
      z.transform((value: string) => value.split(',').map((event) => event.trim())),
    ),
  ]),
  z.array(z.enum(WEBHOOK_EVENTS)).check(z.minLength(1)),
);

const scheduleExpression = z.string().check(z.regex(/^(rate|cron)\(.+\)$/, 'must be an EventBridge schedule expression: rate(...) or cron(...)'));
/** A whole number within bounds; `-c key=value` hands the app text, so it is coerced. */
const wholeNumber = (min: number, max: number) => z.coerce.number().check(z.int(), z.gte(min), z.lte(max));

/** CDK context values, checked once; constructs only ever see the typed result. */
const contextSchema = z.object({
  providerBaseUrl: z._default(z.url(), 'https://www.anyfast.ai'),
  providerModels: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), ['seedance-fast']),
  providerApiKeySecretName: z._default(z.string().check(z.minLength(1)), 'video-pipeline/provider-api-key'),
  jobDeadlineMinutes: z._default(wholeNumber(1, MAX_JOB_DEADLINE_MINUTES), 30),
  batchSchedule: z._default(scheduleExpression, 'rate(15 minutes)'),
  maxJobsInFlight: z._default(wholeNumber(1, 1000), 20),
  maxQueueHours: z._default(z.coerce.number().check(z.positive(), z.lte(24 * 14)), 24),
  lateFollowMinutes: z._default(wholeNumber(1, MAX_LATE_FOLLOW_MINUTES), 60),
  queueAgeAlarmMinutes: z._default(wholeNumber(1, 24 * 60 * 14), 60),
  sweepSchedule: z._default(scheduleExpression, 'rate(5 minutes)'),
  webhookUrl: z.optional(webhookUrl),
  webhookEvents: z._default(webhookEvents, [...DEFAULT_WEBHOOK_EVENTS]),
  webhookSecretName: z._default(z.string().check(z.minLength(1)), 'video-pipeline/webhook-signing-secret'),
  retainData: z._default(
    z.union([
      z.boolean(),
      z.pipe(
        z.enum(['true', 'false']),
        z.transform((value) => value === 'true'),
      ),
    ]),
    true,
  ),
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
    ...(context.webhookUrl ? { defaultWebhook: { url: context.webhookUrl, events: [...new Set(context.webhookEvents)] } } : {}),
    webhookSecretName: context.webhookSecretName,
  };
}
