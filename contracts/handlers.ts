/**
 * The handler file (under runtime/handlers/, without extension) of every function of the pipeline.
 * Infrastructure bundles each function from its file and names it in the template's metadata, which
 * is how the local stack binds the same handlers; runtime composes each function by this name.
 */
export const HANDLER = {
  intake: 'intake',
  uploadTrigger: 's3-trigger',
  batchRunner: 'batch-runner',
  sweeper: 'sweeper',
  admission: 'admission',
  submitTask: 'submit-task',
  pollTask: 'poll-task',
  storeVideo: 'store-video',
  describeFailure: 'describe-failure',
  announceOutcome: 'announce-outcome',
  tokenAuthorizer: 'token-authorizer',
  deliverWebhook: 'deliver-webhook',
} as const;

export type HandlerFile = (typeof HANDLER)[keyof typeof HANDLER];

/** The functions that create jobs or start them: each records jobs and dispatches the admission line. */
export type JobIntakeHandler =
  typeof HANDLER.intake | typeof HANDLER.uploadTrigger | typeof HANDLER.batchRunner | typeof HANDLER.sweeper | typeof HANDLER.admission;
