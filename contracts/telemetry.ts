import { HANDLER, type HandlerFile } from './handlers.js';

/** Every metric of the pipeline lives in one CloudWatch namespace, published as embedded metric format logs. */
export const METRICS_NAMESPACE = 'VideoPipeline';

/**
 * The service each function logs and publishes metrics under (Powertools sets it as the `service`
 * dimension of every metric). DescribeFailure only maps an error to a failure: it logs and publishes nothing.
 */
export const SERVICE_NAMES = {
  [HANDLER.intake]: 'video-pipeline-intake',
  [HANDLER.uploadTrigger]: 'video-pipeline-upload-trigger',
  [HANDLER.batchRunner]: 'video-pipeline-batch-runner',
  [HANDLER.sweeper]: 'video-pipeline-sweeper',
  [HANDLER.admission]: 'video-pipeline-admission',
  [HANDLER.submitTask]: 'video-pipeline-submit-task',
  [HANDLER.pollTask]: 'video-pipeline-poll-task',
  [HANDLER.storeVideo]: 'video-pipeline-store-video',
  [HANDLER.announceOutcome]: 'video-pipeline-announce-outcome',
  [HANDLER.tokenAuthorizer]: 'video-pipeline-token-authorizer',
  [HANDLER.deliverWebhook]: 'video-pipeline-deliver-webhook',
} as const satisfies Record<Exclude<HandlerFile, typeof HANDLER.describeFailure>, string>;

export type ServiceName = (typeof SERVICE_NAMES)[keyof typeof SERVICE_NAMES];

/** The dimensions metrics carry besides `service`. */
export const DIMENSION = {
  /** The service that published it (Powertools' own dimension name). */
  service: 'service',
  /** How a started job came in: http, s3, schedule. */
  trigger: 'trigger',
  /** A job's final status. */
  status: 'status',
  /** An error code (`NONE` for a job that ended without one). */
  code: 'code',
} as const;

/** Every metric name, by the function that publishes it. */
export const METRIC = {
  // Every job-creating function, once per job it starts (dimension trigger).
  JobsStarted: 'JobsStarted',
  // AnnounceOutcome, once per job that ended in its workflow (JobsEnded: dimensions status and code).
  JobsEnded: 'JobsEnded',
  PollsPerJob: 'PollsPerJob',
  TimeToS3: 'TimeToS3',
  BytesStored: 'BytesStored',
  // SubmitTask (ProviderCreateFailures: dimension code).
  ProviderTasksCreated: 'ProviderTasksCreated',
  ProviderCreateFailures: 'ProviderCreateFailures',
  // PollTask: each poll, answered or failed at the provider.
  ProviderPolls: 'ProviderPolls',
  ProviderPollFailures: 'ProviderPollFailures',
  // The sweeper, each sweep: what it repaired, and the admission line as it saw it.
  StuckJobs: 'StuckJobs',
  StuckJobsEnded: 'StuckJobsEnded',
  QueueTimeouts: 'QueueTimeouts',
  SlotsReclaimed: 'SlotsReclaimed',
  LineLength: 'LineLength',
  OldestWaitSeconds: 'OldestWaitSeconds',
  SlotsHeld: 'SlotsHeld',
  EffectiveCap: 'EffectiveCap',
} as const;
