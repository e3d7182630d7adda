import { HANDLER, type HandlerFile } from './handlers.js';
import * as z from './zod.js';
import { WEBHOOK_EVENTS } from './webhooks.js';

/**
 * The environment of every function: which variables it reads and how each is parsed. Infrastructure
 * sets them (FunctionVariables: a missing or misspelled variable does not compile); runtime/compose
 * reads them once, at the function's cold start, through the same schema.
 */

/** A setting that must be there and not empty: a table, a bucket, an ARN. */
export const requiredSetting = z.string().check(z.minLength(1));

/** A count or a number of seconds; the environment holds strings, so it is coerced. */
export const positiveIntegerSetting = z.coerce.number().check(z.int(), z.positive());

/** A switch only the local stack sets: unset is off. */
export const booleanFlag = z.pipe(
  z.optional(z.enum(['true', 'false', '1', '0'])),
  z.transform((value) => value === 'true' || value === '1'),
);

/** The settings of every function that creates jobs or starts them (JobIntakeHandler). */
const jobIntakeEnvironment = z.object({
  JOBS_TABLE: requiredSetting,
  VIDEO_BUCKET: requiredSetting,
  STATE_MACHINE_ARN: requiredSetting,
  JOB_DEADLINE_SECONDS: positiveIntegerSetting,
  /** Comma-separated. */
  PROVIDER_MODELS: z.pipe(
    requiredSetting,
    z.transform((value) => value.split(',').map((model) => model.trim())),
  ),
  EVENT_BUS_NAME: requiredSetting,
  S3_FORCE_PATH_STYLE: booleanFlag,
  ADMISSION_TABLE: requiredSetting,
  MAX_JOBS_IN_FLIGHT: positiveIntegerSetting,
  MAX_QUEUE_SECONDS: positiveIntegerSetting,
  /** The stack's default webhook (context webhookUrl, webhookEvents comma-separated) for jobs that name none. */
  WEBHOOK_URL: z.optional(requiredSetting),
  WEBHOOK_EVENTS: z.optional(
    z.pipe(
      requiredSetting,
      z.pipe(
        z.transform((value: string) => value.split(',').map((event) => event.trim())),
        z.array(z.enum(WEBHOOK_EVENTS)),
      ),
    ),
  ),
  /** The local stack's switch: loopback webhook receivers are accepted, as its plain-http video URLs are. */
  ALLOW_INSECURE_LOOPBACK_VIDEO_URLS: booleanFlag,
});

/** SubmitTask and PollTask reach the provider the same way: base URL, and the key from Secrets Manager. */
const providerSettings = { PROVIDER_BASE_URL: z.url(), PROVIDER_API_KEY_SECRET_ID: requiredSetting };

/** Unset (the local stack at a time scale), there is no generation history and every job polls from the prior. */
const historySettings = { GENERATION_HISTORY_TABLE: z.optional(requiredSetting) };

/**
 * Only the local stack sets it: its LOCAL_TIME_SCALE, the clock's seconds per provider second, which
 * the poll policy divides the clock's spans by (runtime/workflow/polling/policy-clock.ts). Unset: 1.
 */
const timeScaleSetting = { LOCAL_TIME_SCALE: z._default(z.coerce.number().check(z.positive()), 1) };

export const FUNCTION_ENVIRONMENTS = {
  [HANDLER.intake]: z.extend(jobIntakeEnvironment, {
    DOWNLOAD_URL_TTL_SECONDS: z._default(positiveIntegerSetting, 3600),
  }),
  [HANDLER.uploadTrigger]: jobIntakeEnvironment,
  [HANDLER.batchRunner]: z.extend(jobIntakeEnvironment, { MANIFESTS_TABLE: requiredSetting }),
  [HANDLER.sweeper]: z.extend(jobIntakeEnvironment, {
    /** How long a recorded job may wait for its execution to start before the sweep starts it. */
    SWEEP_START_GRACE_SECONDS: z._default(positiveIntegerSetting, 120),
  }),
  // It builds the job intake's dependencies to dispatch the line, so it reads the same settings.
  [HANDLER.admission]: jobIntakeEnvironment,
  [HANDLER.submitTask]: z.object({
    ...providerSettings,
    ...historySettings,
    ...timeScaleSetting,
    VIDEO_BUCKET: requiredSetting,
    S3_FORCE_PATH_STYLE: booleanFlag,
    ADMISSION_TABLE: requiredSetting,
    MAX_JOBS_IN_FLIGHT: positiveIntegerSetting,
    /** `Job Started` goes there (webhooks). */
    EVENT_BUS_NAME: requiredSetting,
  }),
  [HANDLER.pollTask]: z.object({
    ...providerSettings,
    ...historySettings,
    ...timeScaleSetting,
    /** `Job Progress` goes there (webhooks). */
    EVENT_BUS_NAME: requiredSetting,
    /** How long past its deadline a job's provider task is still followed. */
    LATE_FOLLOW_SECONDS: positiveIntegerSetting,
  }),
  [HANDLER.storeVideo]: z.object({
    VIDEO_BUCKET: requiredSetting,
    S3_FORCE_PATH_STYLE: booleanFlag,
    ALLOW_INSECURE_LOOPBACK_VIDEO_URLS: booleanFlag,
  }),
  [HANDLER.describeFailure]: z.object({}),
  [HANDLER.announceOutcome]: z.object({ JOBS_TABLE: requiredSetting, EVENT_BUS_NAME: requiredSetting }),
  [HANDLER.tokenAuthorizer]: z.object({ TOKENS_TABLE: requiredSetting }),
  [HANDLER.deliverWebhook]: z.object({
    JOBS_TABLE: requiredSetting,
    VIDEO_BUCKET: requiredSetting,
    S3_FORCE_PATH_STYLE: booleanFlag,
    /** The secret Secrets Manager generated at deploy; receivers hold it as `whsec_` + its base64. */
    WEBHOOK_SECRET_ID: requiredSetting,
    /** Where the API is reached: the body's `links.self`. */
    PUBLIC_API_URL: z.url(),
    DOWNLOAD_URL_TTL_SECONDS: z._default(positiveIntegerSetting, 3600),
    WEBHOOK_TIMEOUT_MS: positiveIntegerSetting,
    ALLOW_INSECURE_LOOPBACK_VIDEO_URLS: booleanFlag,
  }),
} as const satisfies Record<HandlerFile, z.ZodMiniObject>;

type EnvironmentSchema = z.ZodMiniObject;

/**
 * The variables a deployment sets for a schema: each one it requires (an optional one may be left
 * out), as text. zod types an object without keys as a string index (of never): it takes none.
 */
type VariablesOf<S extends EnvironmentSchema> = string extends keyof z.input<S> ? Record<string, never> : { [K in keyof z.input<S>]: string };

/** What the function reads from its environment, parsed. */
export type FunctionEnvironment<H extends HandlerFile> = z.output<(typeof FUNCTION_ENVIRONMENTS)[H]>;

/** The environment variables of the function, as infrastructure sets them. */
export type FunctionVariables<H extends HandlerFile> = VariablesOf<(typeof FUNCTION_ENVIRONMENTS)[H]>;

/** The settings every job-creating function shares, as infrastructure sets them. */
export type JobIntakeVariables = VariablesOf<typeof jobIntakeEnvironment>;
/** The settings every job-creating function shares, parsed. */
export type JobIntakeEnvironment = z.output<typeof jobIntakeEnvironment>;
