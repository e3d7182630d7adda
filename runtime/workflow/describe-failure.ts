/**
 * Turns a Catch's `{Error, Cause}` into the job's error. A Lambda failure's Cause is a JSON string
 * `{"errorType","errorMessage","trace"}`; a user wants the message, not the trace.
 */

export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export interface FailureDescription {
  status: 'FAILED' | 'TIMED_OUT';
  code: string;
  message: string;
  failedAt: string;
}

const TIMEOUT_CODES = new Set(['DEADLINE_EXCEEDED']);

function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no details were given';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed && typeof parsed.errorMessage === 'string') {
      return parsed.errorMessage;
    }
  } catch {
    // A plain-text cause is already the message.
  }
  return cause;
}

/** Our own error codes (errors.ts) are SCREAMING_SNAKE; anything else came from the platform or a crash. */
const PIPELINE_CODE = /^[A-Z][A-Z0-9_]+$/;

/**
 * A function that crashed or timed out (`Error`, `Sandbox.Timedout`, `States.Timeout`, a failed
 * DynamoDB condition…) ends the job FUNCTION_FAILED, the original name kept in the message: one
 * documented code for "our side failed", whatever the platform called it.
 */
export function describeFailure(error: CaughtError, now: Date): FailureDescription {
  const name = error.Error || 'UNKNOWN_ERROR';
  const message = causeMessage(error.Cause);
  const ours = PIPELINE_CODE.test(name);
  return {
    status: TIMEOUT_CODES.has(name) ? 'TIMED_OUT' : 'FAILED',
    code: ours ? name : 'FUNCTION_FAILED',
    message: (ours ? message : `${name}: ${message}`).slice(0, 2000),
    failedAt: now.toISOString(),
  };
}
