/**
 * Every failure the pipeline knows about is one of these classes. The class name doubles as the
 * Step Functions error name (Lambda reports `error.name` as the error type, and Retry/Catch match
 * on it), and `httpStatus` is the one place an error is mapped to an HTTP answer.
 */

export interface FieldIssue {
  path: string;
  message: string;
}

export abstract class PipelineError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  /** True when running the same step again may succeed (drives Step Functions Retry). */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// The Step Functions error name is the code: Retry and Catch in the state machine match on it.
Object.defineProperty(PipelineError.prototype, 'name', {
  get(this: PipelineError) {
    return this.code;
  },
});

export class ValidationError extends PipelineError {
  readonly code = 'VALIDATION_ERROR';
  readonly httpStatus = 400;
  constructor(readonly issues: FieldIssue[]) {
    super(`The request is invalid: ${issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ')}`);
  }
}

export class MalformedJsonError extends PipelineError {
  readonly code = 'MALFORMED_JSON';
  readonly httpStatus = 400;
}

export class UnsupportedMediaTypeError extends PipelineError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  readonly httpStatus = 415;
}

export class PayloadTooLargeError extends PipelineError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  readonly httpStatus = 413;
}

export class NotFoundError extends PipelineError {
  readonly code = 'NOT_FOUND';
  readonly httpStatus = 404;
}

/** The provider's routes: no task of that id, or none the caller's token made (the gateway's `task_not_exist`). */
export class TaskNotExistError extends PipelineError {
  readonly code = 'TASK_NOT_EXIST';
  readonly httpStatus = 404;
}

export class MethodNotAllowedError extends PipelineError {
  readonly code = 'METHOD_NOT_ALLOWED';
  readonly httpStatus = 405;
}

export class ConflictError extends PipelineError {
  readonly code = 'CONFLICT';
  readonly httpStatus = 409;
}

/**
 * A manifest line whose `id` already names a job made from another body (two lines with one id, or
 * a line edited in a new version of the manifest): the line is refused, the earlier job stands.
 */
export class LineIdConflictError extends PipelineError {
  readonly code = 'LINE_ID_CONFLICT';
  readonly httpStatus = 409;
}

/** A manifest line the batch function failed on in several runs: refused so the manifest goes on. */
export class LineFailedError extends PipelineError {
  readonly code = 'LINE_FAILED';
  readonly httpStatus = 500;
}

/**
 * An uploaded object version that can no longer be read as its event announced it: overwritten or
 * deleted before the upload trigger read it. Its job is recorded FAILED with this code; never an HTTP answer.
 */
export class UploadSupersededError extends PipelineError {
  readonly code = 'UPLOAD_SUPERSEDED';
  readonly httpStatus = 409;
}

/** The provider refused our key (401/403). Retrying cannot help. */
export class ProviderAuthError extends PipelineError {
  readonly code = 'PROVIDER_AUTH_FAILED';
  readonly httpStatus = 502;
}

/** The provider refused the request itself (400, 402 balance, 413...). */
export class ProviderRejectedError extends PipelineError {
  readonly code = 'PROVIDER_REJECTED';
  readonly httpStatus = 502;
}

/** A failure after which the provider surely did not act: safe to retry with backoff. */
export class ProviderUnavailableError extends PipelineError {
  readonly code = 'PROVIDER_UNAVAILABLE';
  readonly httpStatus = 503;
  override readonly retryable = true;
}

/**
 * The provider refused a create for its limit on unfinished tasks (429, or the gateway's concurrency
 * error): it made no task. Not a failure of the job: it goes back to the front of the admission line
 * and the learned limit comes down (admission-limit.ts).
 */
export class ProviderBusyError extends PipelineError {
  readonly code = 'PROVIDER_BUSY';
  readonly httpStatus = 429;
}

/**
 * A create that failed after the request was sent (timeout, 502/504, dropped connection): the
 * provider may have made a billed task we cannot see. Never retried blindly.
 */
export class SubmissionUncertainError extends PipelineError {
  readonly code = 'SUBMISSION_UNCERTAIN';
  readonly httpStatus = 502;
}

export class ProviderTaskNotFoundError extends PipelineError {
  readonly code = 'PROVIDER_TASK_NOT_FOUND';
  readonly httpStatus = 502;
}

export class ProviderTaskFailedError extends PipelineError {
  readonly code = 'PROVIDER_TASK_FAILED';
  readonly httpStatus = 502;
}

/** The provider answered something we cannot read; on a poll it is worth another try. */
export class ProviderBadResponseError extends PipelineError {
  readonly code = 'PROVIDER_BAD_RESPONSE';
  readonly httpStatus = 502;
  override readonly retryable = true;
}

export class DeadlineExceededError extends PipelineError {
  readonly code = 'DEADLINE_EXCEEDED';
  readonly httpStatus = 504;
}

/** The video could not be copied (cut download, 5xx from its host); retried from the start. */
export class VideoCopyError extends PipelineError {
  readonly code = 'VIDEO_COPY_FAILED';
  readonly httpStatus = 502;
  override readonly retryable = true;
}

/** The provider said SUCCESS but gave no video URL we may fetch. */
export class VideoUnavailableError extends PipelineError {
  readonly code = 'VIDEO_UNAVAILABLE';
  readonly httpStatus = 502;
}

/** PutEvents answered but refused the entry; worth another try. */
export class EventNotPublishedError extends PipelineError {
  readonly code = 'EVENT_NOT_PUBLISHED';
  readonly httpStatus = 503;
  override readonly retryable = true;
}

export interface ErrorBody {
  error: { code: string; message: string; issues?: FieldIssue[] };
}

export function toErrorBody(error: PipelineError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error instanceof ValidationError ? { issues: error.issues } : {}),
    },
  };
}
